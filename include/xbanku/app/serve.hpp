#pragma once
// `xbanku --act=serve`: one process, one io_context thread for the app (the core), the
// projector's fold thread, and the API's --threads session threads.
//
// Executor model: everything — the HTTP/WebSocket server, the projector (a consumer-group
// member), the outbox sender, the Redis mirror and every request — is a coroutine on ONE
// io_context thread, except each consumed batch's fold and RocksDB commit: the projector hands
// them to a thread of its own and waits for them (Projector::on_fold_thread says what they
// share and why that is safe), so a catch-up never holds up the sessions; and plain HTTP
// sessions' socket work with --threads > 0, which hands every parsed request to this thread
// (api/server.hpp). librdkafka's and
// hiredis' own threads/fds only wake the io thread (eventfd / socket readiness); the API's
// RocksDB reads are point lookups served from memtables and the block cache, and RocksDB and
// the Store's mutexes let them run beside a commit. So the components need no locks, and a
// read-your-writes waiter is woken on the io thread right after its record's commit.
//
// The components (see docs/architecture.md for the path of a command and of a query):
//   Projector      poll → fold → dead letters → commit → hooks; assignment, serving, /readyz
//   OutboxSender   follow-ups from the view's outbox to the topic
//   OutcomeWaits   read-your-writes waits, woken by the projector's commits
//   Commands       CommandService: produce, then wait here or at the partition's owner
//   Queries        QueryService: routed by cluster::QueryRouting
//   UpdateHub      UpdateFeed: local commits and other instances' updates to subscribers
//   Membership     `<topic>.members`: who owns which partition
// serve() only builds and wires them, and stops them in order.

#include "xbanku/app/config.hpp"

namespace xbanku::app {

// Runs the service until SIGINT/SIGTERM, then shuts down gracefully (stop accepting, let
// in-flight commands finish within a bound, flush the producer, commit, leave the group, close
// RocksDB). Returns the process exit code.
[[nodiscard]] int run_serve(const Config& config);

}  // namespace xbanku::app
