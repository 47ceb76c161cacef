# Lets unmodified Kamal 2 (run from source as `ruby -I<kamal>/lib <kamal>/bin/kamal`)
# run on Debian bookworm's older gems, for bench/deploy/kamal-vs-wharf.mjs only.
# Loaded with `ruby -I<this dir> -rkamal_shim`. Each patch only adds an API the
# newer gem has, in the way the newer gem does it; none touches what Kamal runs
# on the servers or when. See the bench's header for the list and the reasons.

# 1. activesupport 6.1 has no active_support/broadcast_logger (7.1+): a fallback
#    file at the end of the load path (fallbacks/active_support/broadcast_logger.rb).
$LOAD_PATH.push(File.join(__dir__, "fallbacks"))

# 2. zeitwerk 2.6.1 has no Loader#eager_load_namespace (2.6.2+), which kamal.rb
#    calls to load every Kamal::Cli class: load each file under the namespace's
#    directories by referencing the constant it defines.
require "zeitwerk"
class Zeitwerk::Loader
  unless method_defined?(:eager_load_namespace)
    def eager_load_namespace(mod)
      base = mod.name.split("::").map { |s| s.gsub(/([a-z\d])([A-Z])/, '\1_\2').downcase }.join("/")
      root_dirs.each_key do |root|
        Dir.glob(File.join(root, base, "**", "*.rb")).sort.each do |file|
          next if ignores?(file)
          relative = file.delete_prefix("#{root}/").delete_suffix(".rb")
          Object.const_get(relative.split("/").map { |segment| inflector.camelize(segment, file) }.join("::"))
        end
      end
    end
  end
end

# 3. dotenv 2.4 (Kamal wants 3.x): no Dotenv.parse(*files, overwrite:), and its
#    parser calls each substitution as call(value, env, is_load) while Kamal's
#    command substitution is call(value, env, overwrite:) and calls
#    Variable.call(value, env). Parse files into a hash without touching ENV, and
#    call each substitution with the arguments it takes.
require "dotenv"
module Dotenv
  unless respond_to?(:parse)
    def self.parse(*filenames, overwrite: false)
      filenames.flatten.each_with_object({}) do |file, hash|
        hash.merge!(Parser.call(File.read(file))) if File.exist?(file)
      end
    end

    module Substitutions
      module Variable
        class << self
          alias_method :call_with_is_load, :call
          def call(value, env, is_load = false) = call_with_is_load(value, env, is_load)
        end
      end
    end

    class Parser
      private
        def parse_value(value)
          value = value.strip.sub(/\A(['"])(.*)\1\z/, '\2')
          quote = Regexp.last_match(1)
          value = unescape_characters(expand_newlines(value)) if quote == '"'
          if quote != "'"
            self.class.substitutions.each do |substitution|
              positional = substitution.method(:call).parameters.count { |kind, _| kind == :req || kind == :opt }
              value = positional == 2 ? substitution.call(value, @hash) : substitution.call(value, @hash, @is_load)
            end
          end
          value
        end
    end
  end
end

# 4. concurrent-ruby 1.1.6 ignores a block given to Semaphore#acquire (1.2+
#    acquires, yields, releases). Kamal's max_concurrent_starts limiter wraps
#    every SSH connect in it, so without this each connection comes back nil.
require "concurrent"
class Concurrent::Semaphore
  if Gem::Version.new(Concurrent::VERSION) < Gem::Version.new("1.2")
    alias_method :acquire_without_block, :acquire
    def acquire(permits = 1)
      return acquire_without_block(permits) unless block_given?
      acquire_without_block(permits)
      begin
        yield
      ensure
        release(permits)
      end
    end
  end
end
