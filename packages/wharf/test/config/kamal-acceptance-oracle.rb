# Loads configs with Kamal's own Configuration classes and says, for each,
# whether Kamal accepts it (and its error otherwise). Input on stdin: JSON list
# of {dir, config_file, destination}. Usage: ruby kamal-acceptance-oracle.rb <stub dir> <kamal lib dir>
# Needs activesupport and zeitwerk; net-ssh and dotenv are stubbed.
stub_dir, lib_dir = ARGV
$LOAD_PATH.unshift stub_dir
module Kamal; class ConfigurationError < StandardError; end; end
require "active_support"
require "active_support/core_ext"
require "zeitwerk"
require "yaml"; require "erb"; require "tmpdir"; require "pathname"; require "uri"; require "json"; require "securerandom"; require "resolv"

loader = Zeitwerk::Loader.new
loader.push_dir(lib_dir)
%w[kamal/sshkit_with_ext.rb kamal/cli kamal/cli.rb kamal.rb].each { |p| loader.ignore(File.join(lib_dir, p)) }
loader.setup
COMMANDS = %w[accessory app audit build config deploy details docs help init lock proxy prune redeploy registry remove rollback secrets server setup upgrade version]
module Kamal::Cli; class Main; def self.commands = COMMANDS.to_h { |c| [ c, nil ] }; end; end
module Kamal::Utils; def self.docker_arch = "amd64"; end
Kamal::VERSION = "2.12.0" unless defined?(Kamal::VERSION)

cases = JSON.parse($stdin.read)
out = cases.map do |c|
  Dir.chdir(c["dir"]) do
    Kamal::Configuration.create_from(config_file: Pathname.new(File.expand_path(c["config_file"])), destination: c["destination"], version: "1")
    { "ok" => true }
  rescue Exception => e
    { "ok" => false, "error" => "#{e.class}: #{e.message.to_s.lines.first.to_s[0, 200]}" }
  end
end
puts JSON.generate(out)
