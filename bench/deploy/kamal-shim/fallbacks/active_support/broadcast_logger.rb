# Fallback for activesupport < 7.1 (Debian bookworm ships 6.1), which has no
# BroadcastLogger. Kamal only builds one to fan its `output:` loggers out; the
# bench config configures none, so this is never written to. It sits at the
# end of the load path: a real activesupport 7.1+ file wins.
module ActiveSupport
  class BroadcastLogger
    def initialize(*loggers)
      @loggers = loggers
    end

    def broadcast_to(*loggers)
      @loggers.concat(loggers)
    end

    def <<(line)
      @loggers.each { |logger| logger << line }
    end

    def close
      @loggers.each { |logger| logger.close if logger.respond_to?(:close) }
    end
  end
end
