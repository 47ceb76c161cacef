/**
 * What runs inside each Postgres node's container for the HA tier: a tiny
 * health agent and an entrypoint that wraps Postgres.
 *
 * Why an agent: HAProxy's own pgsql-check only proves that Postgres answers,
 * not whether it is in recovery, so both nodes would look writable. The agent
 * answers HTTP `GET /primary` with 200 only when the local Postgres is out of
 * recovery and the node is not fenced (no `$PGDATA/wharf.fenced`), else 503;
 * HAProxy checks it with `option httpchk` (fail-closed: an agent that does
 * not answer marks the node down, as Patroni's REST check does).
 * `GET /status` reports the role, the fence and the last sample of
 * pg_stat_wal_receiver (taken every second on a standby), which failover uses
 * to report the lag lost when the primary vanished.
 *
 * Why an entrypoint: a primary whose server was stopped during a failover
 * comes back with its containers. Before Postgres starts, `boot-check` asks
 * the peers listed in `$PGDATA/wharf.peers`; when one answers as an unfenced
 * primary, this node writes `standby.signal` and `wharf.fenced` and so starts
 * read-only instead of as a second writer.
 *
 * Both are written in Perl and POSIX sh because perl-base is essential in
 * Debian, so every Debian-based Postgres image (the upstream `postgres`
 * image too) can run them without extra packages.
 */

import { REPO_SCRIPT } from './backup/repo-script.js';

export const AGENT_SCRIPT = String.raw`#!/usr/bin/perl
# wharf-db-agent: health agent of one wharf HA Postgres node (see docs/db.md).
#   wharf-db-agent serve        answer GET /primary, /replica, /status on $WHARF_DB_AGENT_PORT (8008)
#   wharf-db-agent boot-check   before Postgres starts: fence this node when a peer is the primary
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use IPC::Open2;

my $pgdata = $ENV{PGDATA} || '/var/lib/postgresql/data';
my $port = $ENV{WHARF_DB_AGENT_PORT} || 8008;
my $user = $ENV{POSTGRES_USER} || 'postgres';
my $fence_file = "$pgdata/wharf.fenced";
my $peers_file = "$pgdata/wharf.peers";
my $sample_file = '/tmp/wharf-db-receiver';
$| = 1;
$SIG{PIPE} = 'IGNORE';

# One psql session kept open (respawned when it dies), so a check costs a query, not a process start.
my ($psql_pid, $psql_out, $psql_in);

sub psql_stop {
  return unless $psql_pid;
  kill 'KILL', $psql_pid;
  waitpid($psql_pid, 0);
  $psql_pid = undef;
}

sub query {
  my ($sql) = @_;
  for my $attempt (1, 2) {
    if (!$psql_pid) {
      local $ENV{PGCONNECT_TIMEOUT} = 2;
      open(my $saved, '>&', \*STDERR);
      open(STDERR, '>', '/dev/null');
      $psql_pid = eval { open2($psql_out, $psql_in, 'psql', '-X', '-q', '-At', '-F', '|', '-U', $user, '-d', 'postgres') };
      open(STDERR, '>&', $saved);
      return undef unless $psql_pid;
    }
    my @rows;
    my $done = eval {
      local $SIG{ALRM} = sub { die "timeout\n" };
      alarm 3;
      print $psql_in "$sql;\n\\echo __wharf_end__\n";
      $psql_in->flush;
      my $end = 0;
      while (my $line = <$psql_out>) {
        chomp $line;
        if ($line eq '__wharf_end__') { $end = 1; last }
        push @rows, $line;
      }
      alarm 0;
      $end;
    };
    alarm 0;
    return join("\n", @rows) if $done && @rows;
    psql_stop();
  }
  return undef;
}

my %receiver;    # last sample of pg_stat_wal_receiver on a standby

sub state {
  my $row = query("select pg_is_in_recovery(), coalesce((select status || ',' || received_tli || ',' || coalesce(flushed_lsn::text, '') || ',' || coalesce(latest_end_lsn::text, '') || ',' || coalesce(extract(epoch from latest_end_time)::text, '') || ',' || coalesce(sender_host, '') from pg_stat_wal_receiver), '')");
  my %s = (fenced => (-e $fence_file ? 1 : 0));
  if (!defined $row) {
    $s{role} = 'down';
    return \%s;
  }
  my ($recovery, $wr) = split /\|/, $row, 2;
  if ($recovery !~ /^[tf]$/) {
    $s{role} = 'down';
    return \%s;
  }
  $s{role} = $recovery eq 't' ? 'standby' : 'primary';
  if ($s{role} eq 'standby' && defined $wr && $wr ne '') {
    my @f = split /,/, $wr, -1;
    %receiver = (
      receiver_status => $f[0], receiver_timeline => $f[1], receiver_flushed_lsn => $f[2],
      primary_end_lsn => $f[3], primary_end_time => $f[4], sender_host => $f[5], sampled_at => time,
    );
    if (open(my $out, '>', "$sample_file.tmp")) {
      print $out "$_=$receiver{$_}\n" for sort keys %receiver;
      close $out;
      rename "$sample_file.tmp", $sample_file;
    }
  }
  return \%s;
}

sub answer {
  my ($path) = @_;
  my $s = state();
  if ($path eq '/primary') {
    return (200, "primary\n") if $s->{role} eq 'primary' && !$s->{fenced};
    return (503, ($s->{fenced} ? 'fenced' : $s->{role}) . "\n");
  }
  if ($path eq '/replica') {
    return (200, "standby\n") if $s->{role} eq 'standby';
    return (503, $s->{role} . "\n");
  }
  if ($path eq '/status') {
    my $body = "role=$s->{role}\nfenced=$s->{fenced}\n";
    $body .= "$_=$receiver{$_}\n" for sort keys %receiver;
    return (200, $body);
  }
  return (404, "unknown path\n");
}

sub serve {
  my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 32, ReuseAddr => 1, Proto => 'tcp')
    or die "wharf-db-agent: cannot listen on port $port: $!\n";
  print "wharf-db-agent: listening on port $port\n";
  my $select = IO::Select->new($server);
  my $sampled = 0;
  while (1) {
    if (time - $sampled >= 1) {
      state() if -e "$pgdata/standby.signal";
      $sampled = time;
    }
    next unless $select->can_read(1);
    my $client = $server->accept or next;
    eval {
      local $SIG{ALRM} = sub { die "timeout\n" };
      alarm 4;
      my $line = <$client> // '';
      while (my $header = <$client>) { last if $header =~ /^\r?\n$/; }
      my ($path) = $line =~ m{^[A-Z]+ (\S+)};
      my ($code, $body) = answer($path // '/');
      my %reason = (200 => 'OK', 404 => 'Not Found', 503 => 'Service Unavailable');
      print $client "HTTP/1.0 $code $reason{$code}\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
      alarm 0;
    };
    close $client;
  }
}

sub http_get {
  my ($peer, $path) = @_;
  my ($host, $peer_port) = $peer =~ /^(.+):(\d+)$/ or return undef;
  my $body;
  eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 3;
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $peer_port, Proto => 'tcp', Timeout => 2) or die "connect\n";
    print $s "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
    my $response = do { local $/; <$s> } // '';
    close $s;
    alarm 0;
    ($body) = $response =~ /\r?\n\r?\n(.*)\z/s if $response =~ m{^HTTP/\S+ 200};
  };
  alarm 0;
  return $body;
}

sub boot_check {
  return unless -e "$pgdata/PG_VERSION";
  return if -e "$pgdata/standby.signal";
  open(my $fh, '<', $peers_file) or return;
  my @peers = grep { /\S/ } map { s/\s+//gr } <$fh>;
  close $fh;
  return unless @peers;
  my $deadline = time + ($ENV{WHARF_DB_PEER_WAIT} // 5);
  my %answered;
  while (1) {
    for my $peer (@peers) {
      next if $answered{$peer};
      my $body = http_get($peer, '/status');
      next unless defined $body;
      $answered{$peer} = 1;
      if ($body =~ /^role=primary$/m && $body =~ /^fenced=0$/m) {
        open(my $signal, '>', "$pgdata/standby.signal") or die "wharf-db-agent: cannot write standby.signal: $!\n";
        close $signal;
        open(my $fence, '>', $fence_file) or die "wharf-db-agent: cannot write $fence_file: $!\n";
        print $fence "peer $peer answered as the primary at boot (" . time . ")\n";
        close $fence;
        print "wharf-db-agent: $peer is the primary, so this node starts fenced and read-only; run 'wharf db rejoin' to make it a standby again\n";
        return;
      }
    }
    last if keys(%answered) == @peers || time >= $deadline;
    sleep 1;
  }
}

my $command = shift @ARGV // 'serve';
if ($command eq 'serve') { serve() }
elsif ($command eq 'boot-check') { boot_check() }
else { die "usage: wharf-db-agent serve|boot-check\n" }
`;

/**
 * The entrypoint of the data-tier image: with no arguments (or only `-c`
 * options) it initialises an empty $PGDATA the way the upstream postgres
 * image does (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB), runs the boot
 * check, starts the agent and runs Postgres as user postgres, turning docker
 * stop's SIGTERM into a fast shutdown. Any other command (pgbouncer, haproxy)
 * runs as given.
 */
export const ENTRYPOINT_SCRIPT = String.raw`#!/bin/sh
set -e
case "$1" in
  ''|-*) ;;
  *) exec "$@" ;;
esac
: "${'${PGDATA:=/var/lib/postgresql/data}'}"
export PGDATA
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ]; then
    echo "wharf-db-entrypoint: POSTGRES_PASSWORD is not set; set it (as a secret) to initialise the database" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "${'${POSTGRES_USER:-postgres}'}" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\nhost replication all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\nwal_keep_size = '1GB'\nwal_log_hints = on\n" >> "$PGDATA/postgresql.conf"
  if [ -n "$POSTGRES_DB" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  echo "wharf-db-entrypoint: initialised $PGDATA"
fi
wharf-db-agent serve &
agent=$!
stopping=0
trap 'stopping=1; kill -INT "$pg" 2>/dev/null || true' TERM INT
# Postgres runs until it exits; while $PGDATA/wharf.hold exists (a switchover stopped it with
# pg_ctl to turn it into a standby) the container stays up and Postgres starts again once the
# hold file is gone.
while :; do
  wharf-db-agent boot-check || true
  postgres -D "$PGDATA" "$@" &
  pg=$!
  status=0
  while kill -0 "$pg" 2>/dev/null; do
    wait "$pg" && status=0 || status=$?
  done
  [ "$stopping" = 0 ] && [ -e "$PGDATA/wharf.hold" ] || break
  echo "wharf-db-entrypoint: Postgres stopped with $PGDATA/wharf.hold present; waiting for it to be removed"
  while [ "$stopping" = 0 ] && [ -e "$PGDATA/wharf.hold" ]; do sleep 0.1; done
  [ "$stopping" = 0 ] || break
done
kill "$agent" 2>/dev/null || true
exit "$status"
`;

/** The apt line of the data-tier image (one layer, shared by rebuilds). */
export const DATA_TIER_APT =
  'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 pgbouncer haproxy curl ca-certificates && rm -rf /var/lib/apt/lists/*';

/**
 * A build context for one image holding PostgreSQL 15, pgbouncer and HAProxy
 * from Debian bookworm plus the agent and entrypoint: each accessory of the
 * tier runs it with its own cmd (none for Postgres, `pgbouncer …`, `haproxy …`).
 * curl and `wharf-db-repo` carry base backups and archived WAL to and from the
 * backup repository (a directory, or S3 with curl's SigV4 signing).
 */
export function dataTierImageFiles(baseImage = 'debian:bookworm'): Record<string, string> {
  return {
    Dockerfile: [
      `FROM ${baseImage}`,
      DATA_TIER_APT,
      'ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data',
      'COPY wharf-db-agent wharf-db-entrypoint wharf-db-repo /usr/local/bin/',
      'RUN chmod 755 /usr/local/bin/wharf-db-agent /usr/local/bin/wharf-db-entrypoint /usr/local/bin/wharf-db-repo',
      'STOPSIGNAL SIGTERM',
      'EXPOSE 5432 8008',
      'ENTRYPOINT ["wharf-db-entrypoint"]',
      '',
    ].join('\n'),
    'wharf-db-agent': AGENT_SCRIPT,
    'wharf-db-entrypoint': ENTRYPOINT_SCRIPT,
    'wharf-db-repo': REPO_SCRIPT,
  };
}
