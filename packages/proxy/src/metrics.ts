// Request metrics in Prometheus text format, with kamal-proxy's names:
// kamal_proxy_http_requests_total, kamal_proxy_http_request_duration_seconds
// and kamal_proxy_http_in_flight_requests.

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STANDARD_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
]);

interface Series {
  service: string;
  method: string;
  status: number;
  count: number;
  sum: number;
  buckets: number[];
}

export function normalizeMethod(method: string): string {
  return STANDARD_METHODS.has(method) ? method : 'OTHER';
}

interface ServiceSeries {
  inFlight: number;
  /** By method, then by status. */
  byMethod: Map<string, Map<number, Series>>;
}

export class Metrics {
  /** Per service: the in-flight gauge and its series (looked up once per request, no key strings built). */
  private readonly services = new Map<string, ServiceSeries>();

  private forService(service: string): ServiceSeries {
    let s = this.services.get(service);
    if (s === undefined) {
      s = { inFlight: 0, byMethod: new Map() };
      this.services.set(service, s);
    }
    return s;
  }

  requestStarted(service: string): void {
    this.forService(service).inFlight++;
  }

  requestFinished(service: string, method: string, status: number, seconds: number, tracked: boolean): void {
    const svc = this.forService(service);
    svc.inFlight--;
    if (!tracked) return;
    const m = normalizeMethod(method);
    let byStatus = svc.byMethod.get(m);
    if (byStatus === undefined) {
      byStatus = new Map();
      svc.byMethod.set(m, byStatus);
    }
    let s = byStatus.get(status);
    if (s === undefined) {
      s = {
        service,
        method: m,
        status,
        count: 0,
        sum: 0,
        buckets: new Array<number>(BUCKETS.length).fill(0),
      };
      byStatus.set(status, s);
    }
    s.count++;
    s.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]!) {
        s.buckets[i]!++;
        break;
      }
    }
  }

  private allSeries(): Series[] {
    const all: Series[] = [];
    for (const svc of this.services.values()) {
      for (const byStatus of svc.byMethod.values()) for (const s of byStatus.values()) all.push(s);
    }
    return all;
  }

  /** Removes the in-flight gauge only; counters stay, as Prometheus expects. */
  render(): string {
    const lines: string[] = [];
    lines.push('# HELP kamal_proxy_http_requests_total Total number of HTTP requests');
    lines.push('# TYPE kamal_proxy_http_requests_total counter');
    const all = this.allSeries().sort((a, b) =>
      a.service === b.service
        ? a.method === b.method
          ? a.status - b.status
          : a.method < b.method
            ? -1
            : 1
        : a.service < b.service
          ? -1
          : 1,
    );
    for (const s of all) {
      lines.push(`kamal_proxy_http_requests_total{${labels(s)}} ${s.count}`);
    }
    lines.push('# HELP kamal_proxy_http_request_duration_seconds Duration of HTTP requests');
    lines.push('# TYPE kamal_proxy_http_request_duration_seconds histogram');
    for (const s of all) {
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        lines.push(
          `kamal_proxy_http_request_duration_seconds_bucket{${labels(s)},le="${BUCKETS[i]}"} ${cumulative}`,
        );
      }
      lines.push(`kamal_proxy_http_request_duration_seconds_bucket{${labels(s)},le="+Inf"} ${s.count}`);
      lines.push(`kamal_proxy_http_request_duration_seconds_sum{${labels(s)}} ${s.sum}`);
      lines.push(`kamal_proxy_http_request_duration_seconds_count{${labels(s)}} ${s.count}`);
    }
    lines.push('# HELP kamal_proxy_http_in_flight_requests Number of HTTP requests in flight');
    lines.push('# TYPE kamal_proxy_http_in_flight_requests gauge');
    for (const service of [...this.services.keys()].sort()) {
      lines.push(
        `kamal_proxy_http_in_flight_requests{service=${quote(service)}} ${this.services.get(service)!.inFlight}`,
      );
    }
    const mem = process.memoryUsage();
    lines.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
    lines.push('# TYPE process_resident_memory_bytes gauge');
    lines.push(`process_resident_memory_bytes ${mem.rss}`);
    return lines.join('\n') + '\n';
  }
}

function labels(s: Series): string {
  return `service=${quote(s.service)},method=${quote(s.method)},status="${s.status}"`;
}

function quote(v: string): string {
  return '"' + v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}
