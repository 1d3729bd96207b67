#include "xbanku/common/error.hpp"

#include <string>

namespace xbanku {
namespace {

class XbankuCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "xbanku"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::log_unavailable: return "the event log (Kafka) is unavailable";
      case errc::log_possibly_persisted: return "delivery to the event log is unknown";
      case errc::log_fatal: return "the event log producer hit a fatal error";
      case errc::log_error: return "event log error";
      case errc::store_error: return "view store (RocksDB) error";
      case errc::store_unwritable: return "the view store cannot write for now";
      case errc::timeout: return "operation timed out";
      case errc::shutting_down: return "shutting down";
      case errc::mirror_unavailable: return "the Redis mirror is unavailable";
      case errc::invalid_config: return "invalid configuration";
      case errc::peer_unreachable: return "another instance could not be reached";
    }
    return "unknown xbanku error";
  }
};

}  // namespace

const boost::system::error_category& xbanku_category() noexcept {
  static const XbankuCategory category;
  return category;
}

}  // namespace xbanku
