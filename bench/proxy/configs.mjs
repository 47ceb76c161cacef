/**
 * Equivalent reverse-proxy configurations for the bench: one upstream
 * (127.0.0.1:<backend>), keep-alive pools on both sides, one worker, tuned as
 * in /work/shared/reference/proxy-baseline.md (nginx keepalive 256 and
 * keepalive_requests 100000, HAProxy http-reuse always, Caddy 256 idle
 * connections per host).
 *
 * accessLog: true gives every proxy a per-request access log written to a file,
 * as wharf-proxy (and kamal-proxy) always writes one: nginx a JSON line with
 * kamal-proxy's fields through a 64 KB buffer, HAProxy its standard HTTP log
 * line to stdout (a file here), Caddy its JSON access log. false turns them off
 * (the C proxies' best case; wharf-proxy still logs).
 */

/** nginx log_format with the fields of kamal-proxy's request log line. */
const NGINX_JSON_LOG =
  `'{"time":"$time_iso8601","level":"INFO","msg":"Request","host":"$host","port":$server_port,` +
  `"path":"$uri","request_id":"$request_id","status":$status,"service":"bench","target":"$upstream_addr",` +
  `"duration":"$request_time","method":"$request_method","req_content_length":"$content_length",` +
  `"req_content_type":"$content_type","resp_content_length":$body_bytes_sent,` +
  `"resp_content_type":"$sent_http_content_type","client_addr":"$remote_addr","client_port":"$remote_port",` +
  `"remote_addr":"$remote_addr","user_agent":"$http_user_agent","proto":"$server_protocol",` +
  `"scheme":"$scheme","query":"$args"}'`;

export function nginxConfig({ port, backendPort, dir, accessLog = true }) {
  const log = accessLog
    ? `log_format wharf escape=json ${NGINX_JSON_LOG};\n  access_log ${dir}/nginx-access.log wharf buffer=64k flush=1s;`
    : 'access_log off;';
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  ${log}
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  keepalive_requests 100000;
  keepalive_timeout 65s;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 256;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-ID $request_id;
    }
  }
}
`;
}

export function haproxyConfig({ port, backendPort, accessLog = true }) {
  return `
global
  nbthread 1
  maxconn 4000
${accessLog ? '  log stdout format raw local0 info\n' : ''}defaults
  mode http
${accessLog ? '  log global\n  option httplog\n' : ''}  timeout connect 5s
  timeout client 65s
  timeout server 65s
  timeout http-keep-alive 65s
  option forwardfor
frontend bench
  bind 127.0.0.1:${port}
  default_backend app
backend app
  http-reuse always
  server app1 127.0.0.1:${backendPort} maxconn 1000
`;
}

export function caddyConfig({ port, backendPort, dir, accessLog = true }) {
  const log = accessLog ? `  log {\n    output file ${dir}/caddy-access.log\n    format json\n  }\n` : '';
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
${log}  reverse_proxy 127.0.0.1:${backendPort} {
    transport http {
      keepalive 65s
      keepalive_idle_conns 256
      keepalive_idle_conns_per_host 256
    }
  }
}
`;
}
