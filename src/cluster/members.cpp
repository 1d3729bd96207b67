#include "xbanku/cluster/members.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <limits>

namespace xbanku::cluster {

namespace json = boost::json;

std::string signed_payload(const Announcement& a) {
  std::string out = "xbanku-announcement-v1\n";
  out += a.instance;
  out += '\n';
  out += a.url;
  out += '\n';
  for (std::size_t i = 0; i < a.partitions.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(a.partitions[i]);
  }
  out += '\n';
  out += std::to_string(a.ts);
  return out;
}

std::string encode(const Announcement& a) {
  json::array parts;
  parts.reserve(a.partitions.size());
  for (auto p : a.partitions) parts.emplace_back(p);
  json::object o;
  o["instance"] = a.instance;
  o["url"] = a.url;
  o["partitions"] = std::move(parts);
  o["ts"] = a.ts;
  if (!a.mac.empty()) o["mac"] = a.mac;
  return json::serialize(o);
}

std::optional<Announcement> decode_announcement(std::string_view key, std::string_view value) {
  Announcement a;
  a.instance = std::string(key);
  if (value.empty()) return a;  // tombstone
  boost::system::error_code ec;
  const json::value v = json::parse(value, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* instance = o->if_contains("instance");
  const json::value* url = o->if_contains("url");
  const json::value* parts = o->if_contains("partitions");
  if (instance == nullptr || !instance->is_string() || instance->get_string() != key)
    return std::nullopt;
  if (url == nullptr || !url->is_string() || parts == nullptr || !parts->is_array())
    return std::nullopt;
  a.url = std::string(url->get_string());
  for (const auto& p : parts->get_array()) {
    if (!p.is_int64() || p.get_int64() < 0 ||
        p.get_int64() > std::numeric_limits<std::int32_t>::max()) {
      return std::nullopt;
    }
    a.partitions.push_back(static_cast<std::int32_t>(p.get_int64()));
  }
  std::sort(a.partitions.begin(), a.partitions.end());
  if (const json::value* ts = o->if_contains("ts"); ts != nullptr && ts->is_int64())
    a.ts = ts->get_int64();
  if (const json::value* mac = o->if_contains("mac"); mac != nullptr && mac->is_string())
    a.mac = std::string(mac->get_string());
  return a;
}

void MemberTable::apply(Announcement a, std::int64_t offset) {
  auto& m = members_[a.instance];
  m.url = std::move(a.url);
  m.partitions = std::move(a.partitions);
  m.offset = offset;
}

std::optional<Owner> MemberTable::owner(std::int32_t partition) const {
  const std::pair<const std::string, Member>* best = nullptr;
  for (const auto& entry : members_) {
    const auto& parts = entry.second.partitions;
    if (!std::binary_search(parts.begin(), parts.end(), partition)) continue;
    if (best == nullptr || entry.second.offset > best->second.offset) best = &entry;
  }
  if (best == nullptr) return std::nullopt;
  return Owner{best->first, best->second.url};
}

std::vector<Owner> MemberTable::owners(std::int32_t partitions) const {
  std::vector<Owner> out;
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto o = owner(p);
    if (o && std::find(out.begin(), out.end(), *o) == out.end()) out.push_back(std::move(*o));
  }
  return out;
}

std::vector<Owner> MemberTable::members() const {
  std::vector<Owner> out;
  out.reserve(members_.size());
  for (const auto& [name, m] : members_) out.push_back(Owner{name, m.url});
  return out;
}

std::vector<std::optional<Owner>> MemberTable::by_partition(std::int32_t partitions) const {
  std::vector<std::optional<Owner>> out;
  out.reserve(static_cast<std::size_t>(std::max(partitions, 0)));
  for (std::int32_t p = 0; p < partitions; ++p) out.push_back(owner(p));
  return out;
}

}  // namespace xbanku::cluster
