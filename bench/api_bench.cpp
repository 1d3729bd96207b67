// HTTP front-end hot path without sockets: parse a raw request with Beast's parser and route
// it. The baseline (route only) is printed from the same run, so the parser's share is visible.
#include "xbanku/api/router.hpp"

#include <benchmark/benchmark.h>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string_view>

namespace {

namespace http = boost::beast::http;
using xbanku::api::Route;

constexpr std::string_view kDeposit =
    "POST /accounts/0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10/deposit?wait=false HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "User-Agent: bench/1.0\r\n"
    "Content-Type: application/json\r\n"
    "Idempotency-Key: 6a1d4c1e-24a4-4b8e-9d3b-3f1f1f2f3f4f\r\n"
    "Content-Length: 15\r\n"
    "\r\n"
    "{\"amount\":1000}";

void BM_RouteOnly(benchmark::State& state) {
  for (auto _ : state) {
    auto m = xbanku::api::route(
        http::verb::post, "/accounts/0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10/deposit?wait=false");
    benchmark::DoNotOptimize(m);
    if (m.route != Route::account_deposit) {
      state.SkipWithError("route mismatch");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteOnly);

void BM_ParseAndRoute(benchmark::State& state) {
  for (auto _ : state) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(kDeposit.data(), kDeposit.size()), ec);
    if (ec || !parser.is_done()) {
      state.SkipWithError("parse failed");
      break;
    }
    const auto& req = parser.get();
    auto m = xbanku::api::route(req.method(), req.target());
    benchmark::DoNotOptimize(m);
    if (m.route != Route::account_deposit) {
      state.SkipWithError("route mismatch");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndRoute);

}  // namespace
