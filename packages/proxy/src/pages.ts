// Error pages: built-in ones for the statuses the proxy produces, and per
// service custom `<status>.html` files (kamal-proxy's --error-pages), which may
// use {{ .Message }} and {{ if .Message }}…{{ else }}…{{ end }}.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATUS_CODES } from 'node:http';
import { ProxyError } from './errors.js';

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f4f5;color:#18181b;display:grid;place-items:center;min-height:100vh;margin:0}' +
  'main{max-width:32em;padding:2em;text-align:center}h1{font-size:1.5em}';

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="robots" content="noindex,nofollow"><title>${title}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${title}</h1>${body}</main></body></html>\n`
  );
}

const BUILT_IN: Record<number, string> = {
  404: page('404 Not Found', '<p>There is nothing here.</p>'),
  413: page('413 Request Too Large', '<p>The request is larger than this site accepts.</p>'),
  502: page('502 Bad Gateway', '<p>The application could not be reached. Please try again shortly.</p>'),
  503: page(
    '503 Service Unavailable',
    '{{ if .Message }}<p>{{ .Message }}</p>{{ else }}<p>The service is unavailable right now, for maintenance or because it is busy. Please try again later.</p>{{ end }}',
  ),
  504: page('504 Gateway Timeout', '<p>The application took too long to answer. Please try again.</p>'),
};

export class ErrorPages {
  private constructor(private readonly templates: Map<number, string>) {}

  static builtIn(): ErrorPages {
    return new ErrorPages(new Map(Object.entries(BUILT_IN).map(([k, v]) => [Number(k), v])));
  }

  /** Loads `<status>.html` files from a directory; throws ProxyError when it cannot be read. */
  static fromDirectory(dir: string, service: string): ErrorPages {
    const templates = new Map<number, string>();
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (err) {
      throw new ProxyError(
        `service ${service}: cannot read error pages directory ${dir}; check --error-pages`,
        {
          cause: err,
        },
      );
    }
    for (const entry of entries) {
      const m = /^(\d{3})\.html$/.exec(entry);
      if (m) templates.set(Number(m[1]), readFileSync(join(dir, entry), 'utf8'));
    }
    if (templates.size === 0) {
      throw new ProxyError(
        `service ${service}: ${dir} has no <status>.html error pages; check --error-pages`,
      );
    }
    return new ErrorPages(templates);
  }

  has(status: number): boolean {
    return this.templates.has(status);
  }

  render(status: number, message = ''): string | null {
    const template = this.templates.get(status);
    if (template === undefined) return null;
    return renderTemplate(template, message);
  }
}

const ROOT = ErrorPages.builtIn();

/** The page for a status: the service's custom page, else the built-in one, else <h1>CODE Text</h1>. */
export function errorPage(status: number, message: string, custom: ErrorPages | null): string {
  return (
    custom?.render(status, message) ??
    ROOT.render(status, message) ??
    `<h1>${status} ${STATUS_CODES[status] ?? 'Error'}</h1>`
  );
}

export function renderTemplate(template: string, message: string): string {
  const escaped = escapeHtml(message);
  return template
    .replace(
      /\{\{-?\s*if\s+\.Message\s*-?\}\}([\s\S]*?)(?:\{\{-?\s*else\s*-?\}\}([\s\S]*?))?\{\{-?\s*end\s*-?\}\}/g,
      (_m, yes: string, no: string | undefined) => (message !== '' ? yes : (no ?? '')),
    )
    .replace(/\{\{-?\s*\.Message\s*-?\}\}/g, escaped);
}

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;');
}
