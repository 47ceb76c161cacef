# Parses each case with the dotenv gem's parser plus Kamal's command substitution.
# Usage: ruby dotenv-parser.rb DOTENV_LIB KAMAL_LIB cases.json  (prints a JSON array)
require "json"
require "English"
require "shellwords"
$LOAD_PATH.unshift(ARGV[0])
require "dotenv/parser"
module Kamal; class Secrets; module Dotenv; end; end; end
require File.join(ARGV[1], "kamal/secrets/dotenv/inline_command_substitution")
Kamal::Secrets::Dotenv::InlineCommandSubstitution.install!
cases = JSON.parse(File.read(ARGV[2]))
out = cases.map do |c|
  ENV.replace(c["env"] || {})
  begin
    { "ok" => ::Dotenv::Parser.call(c["text"], overwrite: true) }
  rescue Exception => e
    { "error" => e.class.name }
  end
end
puts JSON.generate(out)
