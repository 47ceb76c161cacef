/**
 * Equivalent reverse-proxy configurations for the bench: one upstream
 * (127.0.0.1:<backend>), keep-alive pools on both sides, one worker, no access
 * log, tuned as in /work/shared/reference/proxy-baseline.md (nginx keepalive 256
 * and keepalive_requests 100000, HAProxy http-reuse always, Caddy 256 idle
 * connections per host).
 */

export function nginxConfig({ port, backendPort, dir }) {
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
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
    }
  }
}
`;
}

export function haproxyConfig({ port, backendPort }) {
  return `
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
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

export function caddyConfig({ port, backendPort }) {
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  reverse_proxy 127.0.0.1:${backendPort} {
    transport http {
      keepalive 65s
      keepalive_idle_conns 256
      keepalive_idle_conns_per_host 256
    }
  }
}
`;
}
