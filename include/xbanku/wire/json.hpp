#pragma once
// The JSON wire format of DESIGN §3 and §4, in both directions: what the API writes to clients,
// and what an instance reads back when another instance answers it (the peer API, the peer
// update feed). One module for both, so that what one instance writes is what another parses.
// A leaf: it depends on domain/ and view/pages.hpp only. Pure functions; thread-safe.
//
// The *_from_json functions are strict about shape (nullopt for anything else) but ignore
// unknown fields, so that a newer instance's answers still parse.

#include "xbanku/domain/rules.hpp"
#include "xbanku/view/pages.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace xbanku::wire {

// The snake_case name of an event type in commands, histories and metrics ("create",
// "transfer_credit", …), and back.
[[nodiscard]] std::string_view op_name(domain::EventType) noexcept;
[[nodiscard]] std::optional<domain::EventType> event_type_from_op(std::string_view) noexcept;

// {"error":{"code","message"}}
[[nodiscard]] boost::json::object error_body(std::string_view code, std::string_view message);

// {"id","name","balance","version","owner"?}
[[nodiscard]] boost::json::object to_json(const domain::Account&);
[[nodiscard]] std::optional<domain::Account> account_from_json(const boost::json::value&);

// GET /accounts: {"accounts":[…],"next": id | null}
[[nodiscard]] boost::json::object to_json(const view::AccountPage&);
[[nodiscard]] std::optional<view::AccountPage> account_page_from_json(const boost::json::value&);

// GET /accounts/{id}/events: {"events":[{…,"cursor"}],"next": cursor | null}; the cursor is the
// entry's sequence number as a decimal string.
[[nodiscard]] boost::json::object to_json(const view::HistoryPage&);
[[nodiscard]] std::optional<view::HistoryPage> history_page_from_json(const boost::json::value&);

// GET /commands/{id}: the outcome, named by `command_id` when the outcome has none.
[[nodiscard]] boost::json::object outcome_to_json(const domain::Outcome&,
                                                  std::string_view command_id);
[[nodiscard]] std::optional<domain::Outcome> outcome_from_json(const boost::json::value&);

// GET /transfers/{id}?to=: {"transfer_id","status"} (the target side's state).
[[nodiscard]] boost::json::object transfer_to_json(std::string_view transfer_id,
                                                   domain::TransferState);
[[nodiscard]] std::optional<domain::TransferState> transfer_state_from_json(
    const boost::json::value&);

// A WebSocket subscription update: {"op":"update","account":{…},"partition","offset"}.
struct Update {
  domain::Account account;
  domain::RecordPos pos;
  friend bool operator==(const Update&, const Update&) = default;
};
[[nodiscard]] boost::json::object to_json(const Update&);
// nullopt for any other frame (e.g. a reply to the subscribe request).
[[nodiscard]] std::optional<Update> update_from_json(const boost::json::value&);

}  // namespace xbanku::wire
