#!/usr/bin/env node
// wharf-proxy: placeholder entry until the proxy lands (issue 4).
process.stdout.write('wharf-proxy: the reverse proxy is not built yet.\n');
