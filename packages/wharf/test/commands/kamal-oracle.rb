# Runs Kamal's own command classes (lib/kamal/commands) for the configs and
# calls given as JSON on stdin and prints each command as Kamal renders it,
# for kamal-parity.test.ts. Usage: ruby kamal-oracle.rb <stub dir> <kamal lib dir>
# Needs activesupport and zeitwerk; sshkit, net-ssh and dotenv are stubbed
# (the command classes never touch them when no secret is read).
stub_dir, lib_dir = ARGV
$LOAD_PATH.unshift stub_dir
module Kamal; class ConfigurationError < StandardError; end; end
require "active_support"
require "active_support/core_ext"
require "zeitwerk"
require "yaml"; require "tmpdir"; require "pathname"; require "uri"; require "json"; require "securerandom"; require "ostruct"; require "resolv"

loader = Zeitwerk::Loader.new
loader.push_dir(lib_dir)
%w[kamal/sshkit_with_ext.rb kamal/cli kamal/cli.rb kamal.rb].each { |p| loader.ignore(File.join(lib_dir, p)) }
loader.setup
# The CLI is not loaded; alias validation only asks it for the command names.
module Kamal::Cli; class Main; def self.commands = {}; end; end

FIXED_TIME = Time.utc(2026, 11, 26, 23, 4, 16)
class << Time
  def now = FIXED_TIME
end
module Kamal::Git
  def self.email = "dev@example.com"
  def self.user_name = "Dev"
end

def target_for(config, call)
  t = call["targs"] || {}
  case call["target"]
  when "app" then Kamal::Commands::App.new(config, role: t["role"] && config.role(t["role"]), host: t["host"])
  when "proxy" then Kamal::Commands::Proxy.new(config, host: t["host"])
  when "accessory" then Kamal::Commands::Accessory.new(config, name: t["name"])
  when "lock" then Kamal::Commands::Lock.new(config)
  when "auditor" then Kamal::Commands::Auditor.new(config, **(t["details"] || {}).transform_keys(&:to_sym))
  when "prune" then Kamal::Commands::Prune.new(config)
  when "registry" then Kamal::Commands::Registry.new(config)
  when "docker" then Kamal::Commands::Docker.new(config)
  when "server" then Kamal::Commands::Server.new(config)
  when "hook" then Kamal::Commands::Hook.new(config)
  end
end

cases = JSON.parse($stdin.read)
out = cases.map do |c|
  config = begin
    if c["config_file"]
      Kamal::Configuration.create_from(config_file: Pathname.new(c["config_file"]), destination: c["destination"], version: c["version"])
    else
      Kamal::Configuration.new(c["config"].transform_keys(&:to_sym), destination: c["destination"], version: c["version"])
    end
  rescue => e
    next { "error" => "#{e.class}: #{e.message.lines.first.to_s[0, 200]}" }
  end
  Object.send(:remove_const, :KAMAL) if Object.const_defined?(:KAMAL)
  Object.const_set(:KAMAL, OpenStruct.new(config: config))
  c["calls"].map do |call|
    begin
      kwargs = (call["kwargs"] || {}).transform_keys(&:to_sym)
      result = target_for(config, call).public_send(call["method"], *(call["args"] || []), **kwargs)
      result.is_a?(Array) ? result.join(" ") : (result.is_a?(Hash) ? result.to_json : result.to_s)
    rescue => e
      "ERROR #{e.class}: #{e.message.lines.first.to_s[0, 200]}"
    end
  end
end
puts JSON.generate(out)
