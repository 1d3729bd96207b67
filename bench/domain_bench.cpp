// The projector's CPU path per record: decode the event, decide its outcome. Printed beside
// BM_JsonParseBaseline, a plain boost::json::parse of the same bytes (the floor for decode).

#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/rules.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace {

using namespace xbanku;

const std::string kId = "0ef305f1-cb00-47db-a0cc-547f1127d00c";
const std::string kTarget = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

std::vector<std::string> sample_values() {
  std::vector<std::string> v;
  domain::Event e{.type = domain::EventType::deposit, .acc_id = kId, .amount = 1234};
  e.command_id = "c7d6f1b2-1111-4d2e-9a2b-3c4d5e6f7a8b";
  v.push_back(domain::encode(e));
  e.type = domain::EventType::transfer;
  e.target_id = kTarget;
  v.push_back(domain::encode(e));
  v.push_back(R"({"AccId":")" + kId + R"(","Type":"CreateEvent","AccName":"Cole Bittel"})");
  return v;
}

void BM_Decode(benchmark::State& state) {
  const auto values = sample_values();
  std::size_t i = 0;
  for (auto _ : state) {
    auto e = domain::decode(values[i++ % values.size()]);
    if (!e) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decode);

void BM_JsonParseBaseline(benchmark::State& state) {
  const auto values = sample_values();
  std::size_t i = 0;
  for (auto _ : state) {
    boost::system::error_code ec;
    auto v = boost::json::parse(values[i++ % values.size()], ec);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonParseBaseline);

void BM_Encode(benchmark::State& state) {
  domain::Event e{
      .type = domain::EventType::transfer, .acc_id = kId, .amount = 1234, .target_id = kTarget};
  e.command_id = "c7d6f1b2-1111-4d2e-9a2b-3c4d5e6f7a8b";
  for (auto _ : state) benchmark::DoNotOptimize(domain::encode(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Encode);

// An in-memory State: the rules alone, without RocksDB.
class MapState final : public domain::State {
 public:
  std::map<std::string, domain::Account, std::less<>> accounts;
  std::optional<domain::Account> account(std::string_view id) const override {
    auto it = accounts.find(id);
    return it == accounts.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<domain::Request> first_request(const domain::CommandKey&) const override {
    return std::nullopt;
  }
  std::optional<domain::TransferState> transfer(std::string_view) const override {
    return std::nullopt;
  }
};

void BM_DecideDepositAndTransfer(benchmark::State& state) {
  MapState st;
  st.accounts[kId] = {kId, "A", 1'000'000'000, 1};
  st.accounts[kTarget] = {kTarget, "B", 0, 1};
  const domain::Placement placement{6};
  domain::Event deposit{.type = domain::EventType::deposit, .acc_id = kId, .amount = 5};
  domain::Event transfer{
      .type = domain::EventType::transfer, .acc_id = kId, .amount = 5, .target_id = kTarget};
  std::int64_t offset = 0;
  for (auto _ : state) {
    const auto& e = (offset & 1) ? transfer : deposit;
    auto d = domain::decide(st, e, {placement.partition_of(kId), offset++}, placement);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideDepositAndTransfer);

}  // namespace
