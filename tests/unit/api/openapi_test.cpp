// The OpenAPI document (GET /openapi.json) against the server it describes:
// - it parses, every $ref resolves, operation ids are unique, every link names an existing
//   operation, parameters it has and values the source response carries;
// - every route is described, and every described path and method is routed;
// - Error.code holds every code the sources can send and nothing else: the error codes are
//   not a second list to keep by hand but are read from the call sites in src/api, src/wire
//   and src/app (a call site whose code the scan cannot read fails the test, naming it);
// - representative requests through the pure handler (api::handle with the FakeBank and
//   callers of every kind), the session layer (401, 403 host/origin, 429, 413, 431) and the
//   WebSocket get only described statuses, content types, headers and bodies;
// - each operation's x-xbanku-scope is the scope the handler asks for, and exactly the
//   operations marked open answer without a token;
// - the limits it states (page size, amounts, key and name rules, wait_ms) are the code's.
#include "harness.hpp"
#include "xbanku/api/http_handler.hpp"
#include "xbanku/api/router.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>

namespace xbanku::api {
namespace {

namespace http = testing::http;
namespace json = testing::json;
using http::verb;
using testing::HttpReply;
using testing::TestServer;
namespace fs = std::filesystem;

const json::value& document() {
  static const json::value doc = json::parse(openapi_json());
  return doc;
}

const json::object& paths() {
  return document().at("paths").as_object();
}

// `v` with its "$ref" chain followed (local references only); nullptr when one does not resolve.
const json::value* deref(const json::value& v) {
  const json::value* cur = &v;
  for (int i = 0; i < 8; ++i) {
    const auto* o = cur->if_object();
    const json::value* ref = o != nullptr ? o->if_contains("$ref") : nullptr;
    if (ref == nullptr) return cur;
    const std::string_view r = ref->as_string();
    if (!r.starts_with('#')) return nullptr;
    boost::system::error_code ec;
    cur = document().find_pointer(r.substr(1), ec);
    if (ec || cur == nullptr) return nullptr;
  }
  return nullptr;
}

const json::object& object_at(const json::value& v) {
  const json::value* d = deref(v);
  if (d == nullptr || !d->is_object())
    throw std::runtime_error("unresolved: " + json::serialize(v));
  return d->as_object();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Operation {
  std::string path, method, id;
  const json::object* op;
};

std::vector<Operation> operations() {
  std::vector<Operation> out;
  for (const auto& [path, item] : paths()) {
    for (const auto& [method, op] : item.as_object()) {
      out.push_back({std::string(path), std::string(method),
                     std::string(op.as_object().at("operationId").as_string()), &op.as_object()});
    }
  }
  return out;
}

const Operation* operation_by_id(std::string_view id) {
  static const auto ops = operations();
  for (const auto& o : ops) {
    if (o.id == id) return &o;
  }
  return nullptr;
}

std::set<std::string> parameter_names(const json::object& op) {
  std::set<std::string> names;
  if (const auto* ps = op.if_contains("parameters")) {
    for (const auto& p : ps->as_array()) names.emplace(object_at(p).at("name").as_string());
  }
  return names;
}

std::set<std::string> error_codes_in_document() {
  std::set<std::string> codes;
  const auto& error = document().at_pointer("/components/schemas/Error/properties/error");
  for (const auto& c : error.at_pointer("/properties/code/enum").as_array()) {
    codes.emplace(c.as_string());
  }
  return codes;
}

// ---- A JSON Schema subset: what the document uses (OpenAPI 3.0 flavour: nullable). ----------

bool ascii_pattern(std::string_view p) {
  return p.find("\\u") == std::string_view::npos;
}

std::string validate(const json::value& v, const json::value& schema_ref, const std::string& at) {
  const json::value* sp = deref(schema_ref);
  if (sp == nullptr) return at + ": unresolved schema";
  const json::object& s = sp->as_object();
  if (v.is_null()) {
    if (const auto* n = s.if_contains("nullable"); n != nullptr && n->as_bool()) return {};
  }
  if (const auto* all = s.if_contains("allOf")) {
    for (const auto& sub : all->as_array()) {
      if (auto e = validate(v, sub, at); !e.empty()) return e;
    }
  }
  if (const auto* one = s.if_contains("oneOf")) {
    int matches = 0;
    for (const auto& sub : one->as_array()) matches += validate(v, sub, at).empty() ? 1 : 0;
    if (matches != 1) return at + ": matches " + std::to_string(matches) + " schemas of oneOf";
  }
  if (const auto* t = s.if_contains("type")) {
    const std::string_view type = t->as_string();
    const bool ok = type == "object"    ? v.is_object()
                    : type == "array"   ? v.is_array()
                    : type == "string"  ? v.is_string()
                    : type == "integer" ? v.is_int64() || v.is_uint64()
                    : type == "boolean" ? v.is_bool()
                    : type == "number"  ? v.is_number()
                                        : false;
    if (!ok) return at + ": not " + std::string(type) + ": " + json::serialize(v);
  }
  if (const auto* e = s.if_contains("enum")) {
    const auto& options = e->as_array();
    if (std::find(options.begin(), options.end(), v) == options.end())
      return at + ": not in the enum: " + json::serialize(v);
  }
  if (const auto* str = v.if_string()) {
    if (const auto* f = s.if_contains("format"); f != nullptr && f->as_string() == "uuid") {
      if (!domain::is_uuid(std::string_view(*str)))
        return at + ": not a uuid: " + json::serialize(v);
    }
    if (const auto* p = s.if_contains("pattern"); p != nullptr && ascii_pattern(p->as_string())) {
      if (!std::regex_search(std::string(*str), std::regex(std::string(p->as_string()))))
        return at + ": does not match " + std::string(p->as_string());
    }
    const auto length = domain::utf8_length(std::string_view(*str)).value_or(0);
    if (const auto* m = s.if_contains("minLength");
        m != nullptr && length < m->to_number<std::size_t>())
      return at + ": shorter than minLength";
    if (const auto* m = s.if_contains("maxLength");
        m != nullptr && length > m->to_number<std::size_t>())
      return at + ": longer than maxLength";
  }
  if (v.is_int64()) {
    if (const auto* m = s.if_contains("minimum"); m && v.get_int64() < m->to_number<std::int64_t>())
      return at + ": below minimum";
    if (const auto* m = s.if_contains("maximum"); m && v.get_int64() > m->to_number<std::int64_t>())
      return at + ": above maximum";
  }
  if (const auto* o = v.if_object()) {
    if (const auto* req = s.if_contains("required")) {
      for (const auto& name : req->as_array()) {
        if (!o->contains(name.as_string())) return at + ": no " + std::string(name.as_string());
      }
    }
    const auto* props = s.if_contains("properties");
    const auto* extra = s.if_contains("additionalProperties");
    for (const auto& [k, val] : *o) {
      const json::value* sub = props != nullptr ? props->as_object().if_contains(k) : nullptr;
      if (sub == nullptr && extra != nullptr && extra->is_object()) sub = extra;
      if (sub != nullptr) {
        if (auto e = validate(val, *sub, at + "/" + std::string(k)); !e.empty()) return e;
      }
    }
  }
  if (const auto* a = v.if_array(); a != nullptr && s.contains("items")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (auto e = validate((*a)[i], s.at("items"), at + "/" + std::to_string(i)); !e.empty())
        return e;
    }
  }
  return {};
}

// ---- One answer against the document ---------------------------------------------------------

// Whether `res`, the answer to `method target`, is one the document describes: its status for
// that operation (405 on the path's operations), the content type and body schema of that
// response, its required headers, and an Error.code from the enum.
void expect_described(verb method, std::string_view target, const Response& res) {
  const unsigned status = res.result_int();
  const std::string what = std::string(http::to_string(method)) + " " + std::string(target) +
                           " → " + std::to_string(status) + " " + res.body();
  SCOPED_TRACE(what);
  const std::string content_type(res[http::field::content_type]);
  json::value body;
  if (content_type == "application/json") {
    boost::system::error_code ec;
    body = json::parse(res.body(), ec);
    ASSERT_FALSE(ec) << "not JSON";
  }
  // Not every status from 400 up is an Error: 504 is the Pending position and a 503 from
  // /readyz the readiness object. The body is checked against the described schema below; an
  // Error's code is checked against the enum here.
  if (const auto* e = body.is_object() ? body.as_object().if_contains("error") : nullptr) {
    EXPECT_GE(status, 400u) << "an error body on a success";
    EXPECT_TRUE(error_codes_in_document().contains(std::string(e->at("code").as_string())))
        << "Error.code lacks " << e->at("code");
  }
  const RouteMatch m = route(method, target);
  if (m.route == Route::not_found) {
    EXPECT_EQ(status, 404u);
    return;
  }
  const std::string path(route_name(m.route));
  ASSERT_TRUE(paths().contains(path)) << path << " is not described";
  std::vector<const json::object*> ops;
  if (m.method_allowed) {
    const auto* op = paths().at(path).as_object().if_contains(lower(http::to_string(method)));
    ASSERT_NE(op, nullptr) << path << " has no " << http::to_string(method);
    ops.push_back(&op->as_object());
  } else {
    EXPECT_EQ(status, 405u);
    for (const auto& [mth, op] : paths().at(path).as_object()) ops.push_back(&op.as_object());
  }
  for (const json::object* op : ops) {
    const auto& responses = op->at("responses").as_object();
    const json::value* described = responses.if_contains(std::to_string(status));
    ASSERT_NE(described, nullptr) << path << " does not describe " << status;
    const json::object& r = object_at(*described);
    if (const auto* headers = r.if_contains("headers")) {
      for (const auto& [name, h] : headers->as_object()) {
        const auto* required = object_at(h).if_contains("required");
        if (required != nullptr && required->as_bool()) {
          EXPECT_FALSE(res[std::string_view(name)].empty()) << "no " << name << " header";
        }
      }
    }
    const auto* content = r.if_contains("content");
    if (content == nullptr) continue;
    const auto* media = content->as_object().if_contains(content_type);
    ASSERT_NE(media, nullptr) << "content type " << content_type << " is not described";
    if (content_type == "application/json") {
      const auto e = validate(body, media->at("schema"), "body");
      EXPECT_TRUE(e.empty()) << e;
    }
  }
}

// ---- The document itself --------------------------------------------------------------------

TEST(OpenApi, ParsesAsOpenApi303) {
  boost::system::error_code ec;
  const auto doc = json::parse(openapi_json(), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.0.3");
  const auto& scheme = doc.at_pointer("/components/securitySchemes/bearerAuth").as_object();
  EXPECT_EQ(scheme.at("type").as_string(), "http");
  EXPECT_EQ(scheme.at("scheme").as_string(), "bearer");
  EXPECT_EQ(scheme.at("bearerFormat").as_string(), "JWT");
  EXPECT_EQ(doc.at("security"), json::parse(R"([{"bearerAuth":[]}])"));
}

TEST(OpenApi, EveryReferenceResolves) {
  std::size_t refs = 0;
  std::function<void(const json::value&, const std::string&)> walk = [&](const json::value& v,
                                                                         const std::string& at) {
    if (const auto* o = v.if_object()) {
      if (o->contains("$ref")) {
        ++refs;
        EXPECT_NE(deref(v), nullptr) << at << ": " << o->at("$ref");
      }
      for (const auto& [k, sub] : *o) walk(sub, at + "/" + std::string(k));
    } else if (const auto* a = v.if_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) walk((*a)[i], at + "/" + std::to_string(i));
    }
  };
  walk(document(), "");
  EXPECT_GT(refs, 100u);
}

TEST(OpenApi, OperationIdsAreUniqueAndEveryLinkResolves) {
  std::set<std::string> ids;
  for (const auto& o : operations()) EXPECT_TRUE(ids.insert(o.id).second) << o.id;
  std::size_t links = 0;
  for (const auto& o : operations()) {
    for (const auto& [status, ref] : o.op->at("responses").as_object()) {
      const json::object& response = object_at(ref);
      const auto* ls = response.if_contains("links");
      if (ls == nullptr) continue;
      for (const auto& [name, l] : ls->as_object()) {
        SCOPED_TRACE(o.id + " " + std::string(status) + " " + std::string(name));
        ++links;
        const json::object& link = object_at(l);
        const Operation* target = operation_by_id(link.at("operationId").as_string());
        ASSERT_NE(target, nullptr) << "no operation " << link.at("operationId");
        const auto names = parameter_names(*target->op);
        for (const auto& [param, expr] : link.at("parameters").as_object()) {
          EXPECT_TRUE(names.contains(std::string(param))) << target->id << " has no " << param;
          const std::string_view e = expr.as_string();
          if (e.starts_with("$response.body#/")) {
            // The property is one the response's schema declares.
            const auto& schema =
                object_at(response.at("content").at("application/json").at("schema"));
            const auto field = std::string(e.substr(std::string_view("$response.body#/").size()));
            EXPECT_TRUE(schema.at("properties").as_object().contains(field)) << e;
          } else if (e.starts_with("$response.header.")) {
            const auto header = std::string(e.substr(std::string_view("$response.header.").size()));
            ASSERT_TRUE(response.contains("headers")) << e;
            EXPECT_TRUE(response.at("headers").as_object().contains(header)) << e;
          } else {
            ADD_FAILURE() << "unexpected link expression " << e;
          }
        }
      }
    }
  }
  EXPECT_GE(links, 20u);
  // Every 202 is the shared Accepted response, whose link follows the command.
  for (const auto& o : operations()) {
    if (const auto* accepted = o.op->at("responses").as_object().if_contains("202")) {
      EXPECT_EQ(accepted->at("$ref").as_string(), "#/components/responses/Accepted") << o.id;
    }
  }
}

TEST(OpenApi, DescribesEveryRouteAndRoutesEveryDescribedOperation) {
  for (auto r = static_cast<int>(Route::accounts); r <= static_cast<int>(Route::console_asset);
       ++r) {
    EXPECT_TRUE(paths().contains(route_name(static_cast<Route>(r))))
        << route_name(static_cast<Route>(r));
  }
  for (const auto& o : operations()) {
    // A concrete path: each {parameter} becomes "x".
    const std::string concrete = std::regex_replace(o.path, std::regex(R"(\{[a-z_]+\})"), "x");
    const auto method = http::string_to_verb(std::string_view(o.method == "get" ? "GET" : "POST"));
    ASSERT_TRUE(o.method == "get" || o.method == "post") << o.method;
    const RouteMatch m = route(method, concrete);
    EXPECT_TRUE(m.method_allowed) << o.method << " " << o.path;
    EXPECT_EQ(route_name(m.route), o.path);
  }
}

TEST(OpenApi, StatesTheLimitsTheCodeEnforces) {
  const auto& d = document();
  const auto& limit = d.at_pointer("/components/parameters/Limit/schema");
  EXPECT_EQ(limit.at("maximum").to_number<std::size_t>(), kMaxLimit);
  EXPECT_EQ(limit.at("default").to_number<std::size_t>(), kDefaultLimit);
  EXPECT_EQ(d.at_pointer("/components/schemas/Amount/maximum").to_number<std::int64_t>(),
            domain::kMaxAmount);
  EXPECT_EQ(d.at_pointer("/components/schemas/Account/properties/name/maxLength")
                .to_number<std::size_t>(),
            domain::kMaxNameChars);
  const auto& get_command = *operation_by_id("getCommand")->op;
  for (const auto& p : get_command.at("parameters").as_array()) {
    if (object_at(p).at("name") == "wait_ms") {
      EXPECT_EQ(object_at(p).at("schema").at("maximum").to_number<std::int64_t>(),
                ApiConfig{}.max_client_wait.count());
    }
  }

  // The key pattern is valid_command_id, byte for byte.
  const std::string key_pattern(
      d.at_pointer("/components/parameters/IdempotencyKey/schema/pattern").as_string());
  EXPECT_EQ(key_pattern, "^[!-~]{1," + std::to_string(domain::kMaxCommandIdChars) + "}$");
  const std::regex key(key_pattern);
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(std::regex_search(one, key), valid_command_id(one)) << c;
  }
  for (std::size_t n : {0, 1, 128, 129}) {
    const std::string k(n, 'k');
    EXPECT_EQ(std::regex_search(k, key), valid_command_id(k)) << n;
  }
}

// UTF-8 of one code point.
std::string utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

TEST(OpenApi, TheNamePatternIsTheDomainsNameRule) {
  // On code points (wchar_t is UTF-32 here), as the server counts them.
  const std::string p(document()
                          .at_pointer("/components/schemas/CreateAccount/properties/name/pattern")
                          .as_string());
  const std::wregex pattern(std::wstring(p.begin(), p.end()));
  const char32_t alphabet[] = {U'a',   U' ',    U'\t',   U'\n',   U'\r',   U'\v',   U'\f',
                               U'\0',  U'\x1F', U'\x7F', U'\x85', U'\x9F', U'\xA0', 0xE9,
                               0x200F, 0x202A,  0x202E,  0x2066,  0x2069,  0x206A,  0x1F600};
  const char32_t fine[] = {U'a', U' ', 0xE9, 0x200F, 0x1F600};
  std::mt19937 rng(20261202);
  auto any = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  for (int i = 0; i < 3000; ++i) {
    std::u32string name;
    if (i % 2 == 0) {  // short, from every class of character
      for (std::size_t k = any(8); k > 0; --k) name += alphabet[any(std::size(alphabet))];
    } else {  // around the 200-character bound, padded and spoiled now and then
      for (std::size_t k = 195 + any(12); k > 0; --k) name += fine[any(std::size(fine))];
      if (any(3) == 0) name[any(name.size())] = alphabet[any(std::size(alphabet))];
      if (any(2) == 0) name = U" \t" + name + U"\n ";
    }
    std::string bytes;
    for (char32_t c : name) bytes += utf8(c);
    const bool matches = std::regex_search(std::wstring(name.begin(), name.end()), pattern);
    EXPECT_EQ(matches, !domain::acc_name_error(bytes).has_value())
        << "name of " << name.size() << " code points: " << json::serialize(json::value(bytes));
  }
}

// ---- Error codes: the sources are the list ------------------------------------------------

#ifndef XBANKU_API_TEST_SOURCE_DIR
#error "tests/unit/api/CMakeLists.txt defines XBANKU_API_TEST_SOURCE_DIR"
#endif

struct CodeSite {
  std::string file;
  std::size_t line;
  std::string code;
};

// Every error code written as a literal at a call site in src/api, src/wire and src/app:
// error_reply and error_response (status, "code"), forbidden("code"), send_error(id, "code"),
// error_body("code"), ["code"] = "code" and AuthRefusal{status, "code"} (the authenticator's
// refusal, which the session sends as it is). A site whose code is not a literal must be one of
// the known pass-throughs below; a new one fails here, naming it, so that no code escapes.
std::vector<CodeSite> error_codes_in_sources() {
  struct Kind {
    std::string_view call;
    std::regex literal;  // matched right after `call`
  };
  const Kind kinds[] = {
      {"error_reply(", std::regex(R"re(^\s*\d{3},\s*"([a-z_]+)")re")},
      {"error_response(", std::regex(R"re(^\s*\d{3},\s*"([a-z_]+)")re")},
      {"forbidden(", std::regex(R"re(^\s*"([a-z_]+)")re")},
      {"send_error(", std::regex(R"re(^\s*\w+,\s*"([a-z_]+)")re")},
      {"error_body(", std::regex(R"re(^\s*"([a-z_]+)")re")},
      {"[\"code\"] =", std::regex(R"re(^\s*"([a-z_]+)")re")},
      {"AuthRefusal{", std::regex(R"re(^\s*\d{3},\s*"([a-z_]+)")re")},
  };
  // Sites that pass a code through rather than choose one: the helpers' own definitions and
  // bodies, a rejected outcome's reason (every domain::Reason is checked separately), and the
  // session's copy of a refusal the identify step made.
  const std::string_view pass_through[] = {
      "unsigned status",
      "std::string_view code",
      "const json::value& id",
      "status, code,",
      "403, code,",
      "400, code,",
      "code, message)",
      "r.status, r.body.at(\"error\")",
      "status_for(out.reason), domain::to_string(out.reason)",
      "code;",
  };
  std::vector<CodeSite> sites;
  const fs::path root(XBANKU_API_TEST_SOURCE_DIR);
  for (const char* dir : {"src/api", "src/wire", "src/app"}) {
    for (const auto& entry : fs::directory_iterator(root / dir)) {
      if (entry.path().extension() != ".cpp" && entry.path().extension() != ".hpp") continue;
      if (entry.path().filename() == "openapi.cpp") continue;
      std::ifstream in(entry.path());
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string text = ss.str();
      const std::string file = std::string(dir) + "/" + entry.path().filename().string();
      for (const auto& kind : kinds) {
        for (auto at = text.find(kind.call); at != std::string::npos;
             at = text.find(kind.call, at + 1)) {
          const bool named_call = kind.call.front() != '[';
          if (named_call && at > 0 &&
              (std::isalnum(static_cast<unsigned char>(text[at - 1])) != 0 ||
               text[at - 1] == '_')) {
            continue;  // another identifier ending in the same letters
          }
          const std::size_t line = 1 + std::count(text.begin(), text.begin() + at, '\n');
          const std::string rest = text.substr(at + kind.call.size(), 160);
          std::smatch m;
          if (std::regex_search(rest, m, kind.literal)) {
            sites.push_back({file, line, m[1].str()});
            continue;
          }
          // Arguments on one line, whitespace collapsed.
          std::string args = std::regex_replace(rest, std::regex(R"(\s+)"), " ");
          args.erase(0, args.find_first_not_of(' '));
          const bool known = std::any_of(std::begin(pass_through), std::end(pass_through),
                                         [&](std::string_view p) { return args.starts_with(p); });
          EXPECT_TRUE(known) << file << ":" << line << ": " << kind.call << args.substr(0, 60)
                             << "… sends a code this test cannot read: write it as a literal, or "
                                "add the pass-through here";
        }
      }
    }
  }
  return sites;
}

// Error replies the server makes but never writes to a client.
const std::map<std::string, std::string> kNeverSent = {
    // http_session.cpp: the answer to a request whose client went away; it only feeds the
    // access log and the request metric (the session ends without writing it).
    {"client_closed", "499, for the log only"},
};

TEST(OpenApiErrorCodes, EveryCodeTheSourcesSendIsInTheEnumAndNoOther) {
  const auto documented = error_codes_in_document();
  const auto sites = error_codes_in_sources();
  ASSERT_GT(sites.size(), 50u) << "the scan of the sources found too little";
  std::set<std::string> sent;
  for (const auto& s : sites) {
    sent.insert(s.code);
    if (kNeverSent.contains(s.code)) continue;
    EXPECT_TRUE(documented.contains(s.code))
        << s.file << ":" << s.line << " sends \"" << s.code << "\", which Error.code lacks";
  }
  // A rejected outcome's reason is its code (operations.cpp, from_outcome).
  for (auto r = static_cast<int>(domain::Reason::account_exists);
       r <= static_cast<int>(domain::Reason::idempotency_key_reused); ++r) {
    const std::string code(domain::to_string(static_cast<domain::Reason>(r)));
    ASSERT_NE(code, "unknown");
    sent.insert(code);
    EXPECT_TRUE(documented.contains(code)) << "Error.code lacks the rejection " << code;
  }
  for (const auto& code : documented) {
    EXPECT_TRUE(sent.contains(code)) << "Error.code has \"" << code << "\", which nothing sends";
  }
  for (const auto& [code, why] : kNeverSent) {
    EXPECT_TRUE(sent.contains(code)) << code << " is no longer in the sources: drop it here";
    EXPECT_FALSE(documented.contains(code)) << code << ": " << why;
  }
}

// ---- The pure handler against the document ------------------------------------------------

const std::string kAlices = "0b0e1c42-7a9d-4b4b-8f3a-1c1d2e3f4a5b";
const std::string kBobs = "1c1f2d53-8bae-4c5c-9a4b-2d2e3f4a5b6c";
const std::string kMissing = "2d2a3e64-9cbf-4d6d-8b5c-3e3f4a5b6c7d";

Caller client(std::string principal, std::vector<std::string> scopes) {
  Caller c;
  c.authenticated = true;
  c.principal = std::move(principal);
  c.scopes = std::move(scopes);
  std::sort(c.scopes.begin(), c.scopes.end());
  return c;
}

class HandlerAgainstDocument : public ::testing::Test {
 protected:
  HandlerAgainstDocument() : metrics(registry), services{bank, bank, health, metrics, &inspector} {
    inspector.info = {
        "a", 1, {{"a", "http://127.0.0.1:1", {0}, true, true}}, {{0, "a", true, 3, 4, 1}}};
    app::DeadLetterInfo letter;
    letter.origin_topic = "bank";
    letter.origin_partition = 0;
    letter.origin_offset = 7;
    letter.reason = "malformed_event: not JSON";
    letter.value = "{";
    inspector.letters = {letter, letter};
    inspector.letters[1].offset = 1;
    bank.accts[kAlices] = domain::Account{kAlices, "Alice", 500, 1, "alice"};
    bank.accts[kBobs] = domain::Account{kBobs, "Bob", 500, 1, "bob"};
    bank.transfers["0-1"] = {kBobs, domain::TransferState::completed};
    domain::Outcome known;
    known.command_id = "known-key";
    known.type = domain::EventType::deposit;
    known.status = domain::Status::applied;
    known.account_id = kAlices;
    known.amount = 1;
    bank.outcomes["known-key"] = known;
  }

  struct Call {
    verb method;
    std::string target;
    std::string body = {};
    Caller caller = Caller::local();
    std::vector<std::pair<std::string, std::string>> headers = {};
    std::string content_type = "application/json";
  };

  // The handler's answer, checked against the document.
  Response run(const Call& c) {
    Request req{c.method, c.target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (c.method == verb::post) {
      if (!c.content_type.empty()) req.set(http::field::content_type, c.content_type);
      req.body() = c.body;
      req.prepare_payload();
    }
    for (const auto& [k, v] : c.headers) req.set(k, v);
    // As the session sets it up: without authentication every caller is trusted like an
    // instance; with it, a client's waits are bounded by max_client_wait.
    RequestContext ctx;
    ctx.request_id = "rid";
    ctx.caller = c.caller;
    ctx.peer_headers = !c.caller.authenticated || c.caller.peer;
    ctx.max_wait = ctx.peer_headers ? app::kMaxCommandWait : ApiConfig{}.max_client_wait;
    boost::asio::io_context ioc;
    Response res;
    boost::asio::co_spawn(ioc, handle(req, services, std::move(ctx)),
                          [&](std::exception_ptr e, Response r) {
                            EXPECT_FALSE(e);
                            res = std::move(r);
                          });
    ioc.run();
    expect_described(c.method, c.target, res);
    return res;
  }

  testing::FakeBank bank;
  testing::FakeHealth health;
  testing::FakeInspector inspector;
  metrics::Registry registry;
  ApiMetrics metrics;
  Services services;
};

std::string code_of(const Response& res) {
  boost::system::error_code ec;
  const auto v = json::parse(res.body(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
  return std::string(v.at("error").at("code").as_string());
}

TEST_F(HandlerAgainstDocument, RepresentativeRequestsGetDescribedAnswers) {
  const Caller alice = client("alice", {"accounts:write"});
  const Caller alice_reader = client("alice", {"accounts:read"});
  const Caller bob = client("bob", {"accounts:write"});
  const Caller root = client("root", {"admin"});
  const std::string deposit = "/accounts/" + kAlices + "/deposit";
  const std::string transfer = "/transfers";
  auto move = [](const std::string& from, const std::string& to, std::int64_t amount) {
    return R"({"from":")" + from + R"(","to":")" + to + R"(","amount":)" + std::to_string(amount) +
           "}";
  };
  struct Case {
    Call call;
    unsigned status;
    std::string code = {};
  };
  const std::vector<Case> cases = {
      {{verb::post, "/accounts", R"({"name":" Cole Bittel "})"}, 201},
      {{verb::post, "/accounts?wait=false", R"({"name":"Later"})"}, 202},
      {{verb::post, "/accounts?wait=0", R"({"name":"Later"})"}, 202},
      {{verb::post, "/accounts?wait=maybe", R"({"name":"X"})"}, 400, "bad_request"},
      {{verb::post, "/accounts", R"({"name":"evil\u202Egnp"})"}, 400, "invalid_name"},
      {{verb::post, "/accounts", R"({"name":"x","id":"nope"})"}, 400, "invalid_id"},
      {{verb::post, "/accounts", R"({"name":"x","name":"y"})"}, 400, "bad_request"},
      {{verb::post, "/accounts", R"({"name":"Again","id":")" + kAlices + "\"}"},
       409,
       "account_exists"},
      {{verb::post, "/accounts", R"({"name":"x"})", Caller::local(), {{"Idempotency-Key", "a b"}}},
       400,
       "bad_request"},
      {{verb::post, "/accounts", R"({"name":"K"})", alice, {{"Idempotency-Key", "k-1"}}}, 201},
      {{verb::post, "/accounts", R"({"name":"L"})", alice, {{"Idempotency-Key", "k-1"}}},
       422,
       "idempotency_key_reused"},
      {{verb::post, "/accounts", "name=x", Caller::local(), {}, "text/plain"},
       415,
       "unsupported_media_type"},
      {{verb::post, "/accounts", R"({"name":"R"})", alice_reader}, 403, "forbidden"},
      {{verb::get, "/accounts"}, 200},
      {{verb::get, "/accounts?after=&limit=1", {}, alice}, 200},
      {{verb::get, "/accounts?after=" + kAlices, {}, root}, 200},
      {{verb::get, "/accounts?after=xyz"}, 400, "invalid_id"},
      {{verb::get, "/accounts?limit=0"}, 400, "bad_request"},
      {{verb::get, "/accounts/" + kAlices, {}, alice_reader}, 200},
      {{verb::get, "/accounts/" + kAlices, {}, bob}, 404, "account_not_found"},
      {{verb::get, "/accounts/" + kMissing, {}, bob}, 404, "account_not_found"},
      {{verb::get, "/accounts/nope"}, 400, "invalid_id"},
      {{verb::get, "/accounts/%zz"}, 400, "invalid_id"},
      {{verb::get, "/accounts/" + kAlices, {}, Caller::local(), {{"X-Xbanku-Hops", "x"}}},
       400,
       "bad_request"},
      {{verb::get, "/accounts/" + kAlices + "/events?after=", {}, alice}, 200},
      {{verb::get, "/accounts/" + kAlices + "/events?after=abc"}, 400, "bad_request"},
      {{verb::get, "/accounts/" + kAlices + "/events?after=12345678901234567890"},
       400,
       "bad_request"},
      {{verb::get, "/accounts/" + kAlices + "/events", {}, bob}, 404, "account_not_found"},
      {{verb::post, deposit, R"({"amount":5})", alice}, 200},
      {{verb::post, deposit, R"({"amount":0})", alice}, 400, "invalid_amount"},
      {{verb::post, deposit, R"({"amount":5})", bob}, 404, "account_not_found"},
      {{verb::post, "/accounts/" + kMissing + "/deposit", R"({"amount":5})"},
       404,
       "account_not_found"},
      {{verb::post, "/accounts/nope/deposit", R"({"amount":5})"}, 400, "invalid_id"},
      {{verb::post, "/accounts/" + kAlices + "/withdraw", R"({"amount":1000000000000000})", alice},
       409,
       "insufficient_funds"},
      {{verb::post, "/accounts/" + kAlices + "/withdraw", R"({"amount":1})", alice, {}, ""},
       415,
       "unsupported_media_type"},
      {{verb::post, transfer, move(kAlices, kBobs, 1), alice}, 200},
      {{verb::post, transfer, move(kAlices, kAlices, 1), alice}, 409, "same_account"},
      {{verb::post, transfer, move(kAlices, kMissing, 1), alice}, 404, "target_not_found"},
      {{verb::post, transfer, move(kBobs, kAlices, 1), alice}, 404, "account_not_found"},
      {{verb::post, transfer, R"({"from":"x","to":"y","amount":1})"}, 400, "invalid_id"},
      {{verb::get, "/commands/known-key"}, 200},
      {{verb::get, "/commands/known-key?wait_ms=10000", {}, alice_reader}, 200},
      {{verb::get, "/commands/known-key?wait_ms=10001", {}, alice_reader}, 400, "bad_request"},
      {{verb::get, "/commands/unknown"}, 404, "command_not_found"},
      {{verb::get, "/commands/a%20b"}, 400, "invalid_id"},
      {{verb::get, "/transfers/0-1?to=" + kBobs, {}, root}, 200},
      {{verb::get, "/transfers/0-99?to=" + kBobs, {}, root}, 404, "transfer_not_found"},
      {{verb::get, "/transfers/0-1?to=" + kBobs, {}, alice}, 403, "forbidden"},
      {{verb::get, "/transfers/0-1?to=nope", {}, root}, 400, "invalid_id"},
      {{verb::get, "/transfers/0-1", {}, root}, 400, "bad_request"},
      {{verb::get, "/metrics", {}, root}, 200},
      {{verb::get, "/metrics", {}, alice}, 403, "forbidden"},
      {{verb::get, "/healthz"}, 200},
      {{verb::get, "/readyz"}, 200},
      {{verb::get, "/openapi.json"}, 200},
      {{verb::get, "/ws"}, 426, "upgrade_required"},
      {{verb::get, "/accounts?prefix=4f2a"}, 200},
      {{verb::get, "/accounts?prefix=xyz"}, 400, "bad_request"},
      {{verb::get, "/cluster", {}, root}, 200},
      {{verb::get, "/cluster", {}, alice}, 403, "forbidden"},
      {{verb::get, "/dlq?limit=1", {}, root}, 200},
      {{verb::get, "/dlq?after=0", {}, root}, 200},
      {{verb::get, "/dlq?after=x", {}, root}, 400, "bad_request"},
      {{verb::get, "/dlq", {}, alice}, 403, "forbidden"},
      {{verb::get, "/assets/none.js"}, 404, "not_found"},
      {{verb::post, "/"}, 405, "method_not_allowed"},
      {{verb::delete_, "/accounts"}, 405, "method_not_allowed"},
      {{verb::post, "/commands/x"}, 405, "method_not_allowed"},
      {{verb::get, "/nope"}, 404, "not_found"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(http::to_string(c.call.method)) + " " + c.call.target);
    const Response res = run(c.call);
    EXPECT_EQ(res.result_int(), c.status) << res.body();
    EXPECT_EQ(code_of(res), c.code);
  }
}

TEST_F(HandlerAgainstDocument, FailuresOfThePortsGetDescribedAnswers) {
  const Caller alice = client("alice", {"accounts:write"});
  const std::string deposit = "/accounts/" + kAlices + "/deposit";
  using Mode = testing::FakeBank::Mode;
  const std::pair<Mode, std::pair<unsigned, std::string>> modes[] = {
      {Mode::unavailable, {503, "log_unavailable"}},
      {Mode::uncertain, {503, "log_uncertain"}},
      {Mode::shutting_down, {503, "shutting_down"}},
      {Mode::pending, {504, ""}},
      {Mode::throws, {500, "internal"}},
  };
  for (const auto& [mode, expected] : modes) {
    bank.mode = mode;
    const Response res = run({verb::post, deposit, R"({"amount":1})", alice});
    EXPECT_EQ(res.result_int(), expected.first);
    EXPECT_EQ(code_of(res), expected.second);
  }
  bank.mode = Mode::normal;

  bank.unavailable = true;  // no instance serves the partition
  Response res = run({verb::get, "/accounts/" + kAlices});
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_EQ(code_of(res), "unavailable");
  res = run({verb::post, deposit, R"({"amount":1})", alice});  // the owner check cannot tell
  EXPECT_EQ(code_of(res), "unavailable");
  bank.unavailable = false;

  bank.store_failure = true;
  res = run({verb::get, "/accounts/" + kAlices});
  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(code_of(res), "store_error");
  res = run({verb::post, deposit, R"({"amount":1})", alice});
  EXPECT_EQ(code_of(res), "store_error");
  bank.store_failure = false;

  health.is_ready = false;
  res = run({verb::get, "/readyz"});
  EXPECT_EQ(res.result_int(), 503u);

  inspector.fail = make_error_code(errc::timeout);  // Kafka did not answer in time
  res = run({verb::get, "/dlq"});
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_EQ(code_of(res), "log_unavailable");
  services.inspector = nullptr;  // none wired
  res = run({verb::get, "/cluster"});
  EXPECT_EQ(code_of(res), "unavailable");
}

TEST_F(HandlerAgainstDocument, EachOperationNeedsTheScopeItsDescriptionNames) {
  // A request each operation answers with success for its own scope (as alice, the owner).
  const std::map<std::string, Call> requests = {
      {"createAccount", {verb::post, "/accounts", R"({"name":"Scoped"})"}},
      {"listAccounts", {verb::get, "/accounts"}},
      {"getAccount", {verb::get, "/accounts/" + kAlices}},
      {"getAccountHistory", {verb::get, "/accounts/" + kAlices + "/events"}},
      {"deposit", {verb::post, "/accounts/" + kAlices + "/deposit", R"({"amount":1})"}},
      {"withdraw", {verb::post, "/accounts/" + kAlices + "/withdraw", R"({"amount":1})"}},
      {"transfer",
       {verb::post, "/transfers",
        R"({"from":")" + kAlices + R"(","to":")" + kBobs + R"(","amount":1})"}},
      {"getCommand", {verb::get, "/commands/known-key"}},
      {"getTransferAtTarget", {verb::get, "/transfers/0-1?to=" + kBobs}},
      {"metrics", {verb::get, "/metrics"}},
      {"getCluster", {verb::get, "/cluster"}},
      {"listDeadLetters", {verb::get, "/dlq"}},
  };
  // The scope just below each one: write implies read, admin implies everything.
  const std::map<std::string, std::vector<std::string>> below = {
      {"accounts:read", {}},
      {"accounts:write", {"accounts:read"}},
      {"admin", {"accounts:write", "accounts:read"}},
  };
  bank.outcomes["known-key"].principal = "alice";
  for (const auto& o : operations()) {
    SCOPED_TRACE(o.id);
    const auto* scope = o.op->if_contains("x-xbanku-scope");
    const auto* security = o.op->if_contains("security");
    if (security != nullptr) {
      EXPECT_TRUE(security->as_array().empty());
      EXPECT_EQ(scope, nullptr) << "an open operation names a scope";
      continue;
    }
    ASSERT_NE(scope, nullptr) << "an operation that needs a token names no x-xbanku-scope";
    if (scope->as_string() == "any") {
      EXPECT_EQ(o.id, "websocket");  // each WebSocket op checks its own scope
      continue;
    }
    const std::string needed(scope->as_string());
    ASSERT_TRUE(below.contains(needed)) << needed;
    ASSERT_TRUE(requests.contains(o.id)) << "no representative request for " << o.id;
    Call c = requests.at(o.id);
    c.caller = client("alice", below.at(needed));
    Response res = run(c);
    EXPECT_EQ(res.result_int(), 403u) << res.body();
    EXPECT_EQ(code_of(res), "forbidden");
    EXPECT_NE(std::string(res[http::field::www_authenticate]).find("scope=\"" + needed + "\""),
              std::string::npos)
        << res[http::field::www_authenticate];
    c.caller = client("alice", {needed});
    res = run(c);
    EXPECT_LT(res.result_int(), 300u) << res.body();
  }
}

// ---- The session layer and the WebSocket against the document ------------------------------

// Tokens are "<sub>;<scope scope …>"; anything else is a bad token.
class TokenAuthenticator final : public Authenticator {
 public:
  boost::system::result<Caller, AuthRefusal> bearer(std::string_view token,
                                                    std::int64_t) const override {
    const auto semi = token.find(';');
    if (semi == std::string_view::npos) {
      return AuthRefusal{401, "unauthorized", "the bearer token is not valid",
                         R"(Bearer realm="xbanku", error="invalid_token")"};
    }
    std::vector<std::string> scopes;
    std::istringstream in{std::string(token.substr(semi + 1))};
    for (std::string s; in >> s;) scopes.push_back(s);
    return client(std::string(token.substr(0, semi)), scopes);
  }
  std::optional<std::string> peer(std::string_view, std::string_view, std::string_view,
                                  std::int64_t) const override {
    return std::nullopt;
  }
};

// A request (with a body for POST) to a described operation, on a fresh connection.
HttpReply ask(TestServer& s, const Operation& o,
              std::vector<std::pair<std::string, std::string>> headers = {},
              std::string body = R"({"name":"x"})") {
  std::string target = std::regex_replace(o.path, std::regex(R"(\{[a-z_]+\})"), kAlices);
  if (o.id == "getTransferAtTarget") target = "/transfers/0-1?to=" + kBobs;
  const verb v = o.method == "post" ? verb::post : verb::get;
  return testing::request(s.port(), v, target, v == verb::post ? std::move(body) : std::string(),
                          std::move(headers));
}

void expect_described(const Operation& o, const HttpReply& r) {
  const verb v = o.method == "post" ? verb::post : verb::get;
  std::string target = std::regex_replace(o.path, std::regex(R"(\{[a-z_]+\})"), kAlices);
  Response res = r.res;
  expect_described(v, target, res);
}

TEST(SessionAgainstDocument, ExactlyTheOpenOperationsAnswerWithoutAToken) {
  TokenAuthenticator auth;
  TestServer s({}, {&auth, nullptr});
  for (const auto& o : operations()) {
    SCOPED_TRACE(o.id);
    const bool open = o.op->contains("security");
    HttpReply r = ask(s, o);
    expect_described(o, r);
    if (open) {
      EXPECT_NE(r.status, 401u);
      continue;
    }
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.header("WWW-Authenticate"), R"(Bearer realm="xbanku")");
    r = ask(s, o, {{"Authorization", "Bearer nonsense"}});
    expect_described(o, r);
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.header("WWW-Authenticate"), R"(Bearer realm="xbanku", error="invalid_token")");
  }
}

TEST(SessionAgainstDocument, RefusalsBeforeTheHandlerAreDescribed) {
  ApiConfig cfg;
  cfg.allowed_hosts = {"bank.example"};
  cfg.rate_per_principal = 0.01;  // one request, then 429 for 100 s
  cfg.burst_per_principal = 1;
  TokenAuthenticator auth;  // rates are for principals: only with authentication
  TestServer s(cfg, {&auth, nullptr});
  for (const auto& o : operations()) {
    SCOPED_TRACE(o.id);
    const HttpReply r = ask(s, o);  // Host: 127.0.0.1
    expect_described(o, r);
    EXPECT_EQ(r.status, 403u);
    EXPECT_EQ(testing::error_code_of(r), "host_not_allowed");
  }
  const Operation& ws = *operation_by_id("websocket");
  HttpReply r = ask(s, ws,
                    {{"Host", "bank.example"},
                     {"Connection", "Upgrade"},
                     {"Upgrade", "websocket"},
                     {"Sec-WebSocket-Version", "13"},
                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                     {"Origin", "https://evil.example"}});
  expect_described(ws, r);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(testing::error_code_of(r), "origin_not_allowed");
  // Refusals take nothing from the rate; this request takes the one token there is.
  const std::pair<std::string, std::string> alice{"Authorization", "Bearer alice;admin"};
  EXPECT_EQ(ask(s, *operation_by_id("listAccounts"), {{"Host", "bank.example"}, alice}).status,
            200u);
  for (const auto& o : operations()) {
    SCOPED_TRACE(o.id);
    r = ask(s, o, {{"Host", "bank.example"}, alice});
    expect_described(o, r);
    if (o.op->contains("security")) {  // the probes and the document: never rate limited
      EXPECT_NE(r.status, 429u);
      continue;
    }
    EXPECT_EQ(r.status, 429u);
    EXPECT_EQ(testing::error_code_of(r), "rate_limited");
  }
}

TEST(SessionAgainstDocument, OversizedRequestsAreDescribed) {
  TestServer s;
  const Operation& create = *operation_by_id("createAccount");
  HttpReply r = ask(s, create, {}, R"({"name":")" + std::string(70 * 1024, 'x') + "\"}");
  expect_described(create, r);
  EXPECT_EQ(r.status, 413u);
  for (const auto& o : operations()) {
    SCOPED_TRACE(o.id);
    r = ask(s, o, {{"X-Padding", std::string(9 * 1024, 'p')}});
    expect_described(o, r);
    EXPECT_EQ(r.status, 431u);
    EXPECT_EQ(testing::error_code_of(r), "header_too_large");
  }
}

TEST(SessionAgainstDocument, WebSocketErrorCodesAreInTheEnum) {
  ApiConfig cfg;
  cfg.ws_max_subscriptions = 1;
  cfg.ws_max_in_flight = 1;
  TestServer s(cfg);
  s.on_io([&] {
    s.bank.accts[kAlices] = domain::Account{kAlices, "Alice", 5, 1};
    return 0;
  });
  boost::asio::io_context ioc;
  auto ws = testing::connect_ws(ioc, s.port());
  std::set<std::string> codes;
  auto say = [&](const std::string& msg) { ws->write(boost::asio::buffer(msg)); };
  auto hear = [&] {
    const json::value reply = testing::receive(*ws);
    if (reply.at("ok") == false) {
      codes.emplace(reply.at("error").at("code").as_string());
      EXPECT_TRUE(
          error_codes_in_document().contains(std::string(reply.at("error").at("code").as_string())))
          << reply;
    }
    return reply;
  };
  say(R"({"id":1,"op":"nope"})");
  hear();
  say(R"({"id":2,"op":"subscribe","accounts":[")" + kAlices + R"(",")" + kBobs + "\"]}");
  hear();
  say(R"({"id":3,"op":"get","account":")" + kMissing + "\"}");
  hear();
  s.on_io([&] {
    s.bank.mode = testing::FakeBank::Mode::pending;
    return 0;
  });
  say(R"({"id":4,"op":"create","name":"Later"})");
  const json::value pending = hear();
  EXPECT_TRUE(pending.at("error").as_object().contains("command_id")) << pending;
  s.on_io([&] {
    s.bank.mode = testing::FakeBank::Mode::normal;
    s.bank.delay = std::chrono::milliseconds(300);
    return 0;
  });
  say(R"({"id":5,"op":"create","name":"Slow"})");
  say(R"({"id":6,"op":"create","name":"Too many"})");
  hear();
  hear();
  EXPECT_EQ(codes, (std::set<std::string>{"unknown_op", "too_many_subscriptions",
                                          "account_not_found", "pending", "too_many_in_flight"}));
}

}  // namespace
}  // namespace xbanku::api
