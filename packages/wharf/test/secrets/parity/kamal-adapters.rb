# Runs one `kamal secrets fetch` through Kamal's own adapter classes.
# Usage: ruby kamal-adapters.rb KAMAL_LIB_DIR '{"adapter": …, "account": …, "from": …, "secrets": […]}'
# Needs ruby and activesupport; prints {"ok": {…}} or {"error": "…"}.
require "json"
require "shellwords"
require "base64"
require "set"
require "active_support/all"
module Kamal; class Secrets; end; end
lib = ARGV[0]
require File.join(lib, "kamal/utils")
require File.join(lib, "kamal/secrets/adapters")
require File.join(lib, "kamal/secrets/adapters/base")
Dir[File.join(lib, "kamal/secrets/adapters/*.rb")].sort.each { |f| require f }
request = JSON.parse(ARGV[1])
begin
  adapter = Kamal::Secrets::Adapters.lookup(request["adapter"])
  puts JSON.generate({ "ok" => adapter.fetch(request["secrets"], account: request["account"], from: request["from"]) })
rescue Exception => e
  puts JSON.generate({ "error" => e.message })
end
