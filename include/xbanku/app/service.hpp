#pragma once
// `xbanku --act=serve`: one process, one io_context thread.
//
// Executor model: everything — the HTTP/WebSocket server, the projector (a consumer-group
// member), the outbox relay, the Redis mirror and every request — is a coroutine on ONE
// io_context thread. librdkafka's and hiredis' own threads/fds only wake that thread (eventfd /
// socket readiness); RocksDB reads are point lookups served from memtables and the block
// cache; the one RocksDB write per consumed batch is the projector's commit. So there are no
// locks in the service, the projector's batch and the API's reads never race, and a
// read-your-writes waiter is woken by the same thread that committed its record.

#include "xbanku/app/config.hpp"

namespace xbanku::app {

// Runs the service until SIGINT/SIGTERM, then shuts down gracefully (stop accepting, let
// in-flight commands finish within a bound, flush the producer, commit, leave the group, close
// RocksDB). Returns the process exit code.
[[nodiscard]] int run_serve(const Config& config);

}  // namespace xbanku::app
