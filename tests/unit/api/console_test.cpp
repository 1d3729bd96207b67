// The console's routes and the operator's: the embedded files with their caching and security
// headers, GET /cluster and GET /dlq through a fake Inspector, and GET /accounts?prefix=.
#include "xbanku/api/console.hpp"

#include "harness.hpp"
#include "xbanku/api/router.hpp"
#include "xbanku/console/assets.hpp"

#include <string>

namespace xbanku::api {
namespace {

using namespace testing;
using http::verb;

TEST(ConsoleRoutes, PagesAssetsAndOperatorRoutes) {
  EXPECT_EQ(route(verb::get, "/").route, Route::console_index);
  EXPECT_EQ(route(verb::get, "/?x=1").route, Route::console_index);
  EXPECT_EQ(route(verb::get, "/index.html").route, Route::console_index);
  EXPECT_FALSE(route(verb::post, "/").method_allowed);
  const auto a = route(verb::get, "/assets/index-abc.js");
  EXPECT_EQ(a.route, Route::console_asset);
  EXPECT_EQ(a.id, "index-abc.js");
  EXPECT_EQ(route(verb::get, "/assets/a/b.js").route, Route::not_found);
  EXPECT_EQ(route(verb::get, "/assets/").route, Route::not_found);
  // The console routes with the fragment: /accounts/<id> stays the JSON API.
  EXPECT_EQ(route(verb::get, "/accounts/abc").route, Route::account);
  EXPECT_EQ(route(verb::get, "/cluster").route, Route::cluster);
  EXPECT_EQ(route(verb::get, "/dlq?after=3&limit=2").route, Route::dlq);
  EXPECT_FALSE(route(verb::post, "/dlq").method_allowed);
  EXPECT_EQ(route_name(Route::console_asset), "/assets/{file}");
}

TEST(ConsoleEtag, IfNoneMatchLists) {
  EXPECT_TRUE(etag_matches(R"("abc")", R"("abc")"));
  EXPECT_TRUE(etag_matches(R"("x", W/"abc")", R"("abc")"));
  EXPECT_TRUE(etag_matches("*", R"("abc")"));
  EXPECT_FALSE(etag_matches(R"("abd")", R"("abc")"));
  EXPECT_FALSE(etag_matches("", R"("abc")"));
}

class Console : public ::testing::Test {
 protected:
  TestServer s;
};

TEST_F(Console, ServesThePageWithItsHeaders) {
  if (!console::console_built_in()) {
    auto r = request(s.port(), verb::get, "/");
    EXPECT_EQ(r.status, 404u);
    EXPECT_NE(r.res.body().find("XBANKU_CONSOLE=OFF"), std::string::npos);
    GTEST_SKIP() << "built with -DXBANKU_CONSOLE=OFF";
  }
  auto r = request(s.port(), verb::get, "/");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("Content-Security-Policy"), console::kContentSecurityPolicy);
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  const std::string etag = r.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');  // strong
  EXPECT_NE(r.res.body().find("<xb-app>"), std::string::npos);
  EXPECT_EQ(request(s.port(), verb::get, "/index.html").res.body(), r.res.body());

  auto again = request(s.port(), verb::get, "/", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.res.body().empty());
  EXPECT_EQ(again.header("ETag"), etag);
  EXPECT_EQ(request(s.port(), verb::get, "/", {}, {{"If-None-Match", R"("other")"}}).status, 200u);
}

TEST_F(Console, ServesEveryAssetImmutable) {
  std::size_t assets = 0;
  for (const auto& a : console::all_assets()) {
    if (!a.path.starts_with("/assets/")) continue;
    ++assets;
    auto r = request(s.port(), verb::get, std::string(a.path));
    ASSERT_EQ(r.status, 200u) << a.path;
    EXPECT_EQ(r.header("Content-Type"), a.content_type);
    EXPECT_EQ(r.header("Cache-Control"), console::kCacheImmutable);
    EXPECT_EQ(r.header("ETag"), a.etag);
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.res.body(), a.body);
    auto cached = request(s.port(), verb::get, std::string(a.path), {},
                          {{"If-None-Match", std::string(a.etag)}});
    EXPECT_EQ(cached.status, 304u);
  }
  if (console::console_built_in()) EXPECT_GE(assets, 2u);  // a script and a style sheet
  auto r = request(s.port(), verb::get, "/assets/nothing-here.js");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "not_found");
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
}

TEST_F(Console, ClusterView) {
  s.on_io([this] {
    app::ClusterInfo& c = s.inspector.info;
    c.instance = "a";
    c.partitions_total = 2;
    c.members = {{"a", "http://127.0.0.1:1", {0}, true, true},
                 {"b", "http://127.0.0.1:2", {1}, false, true},
                 {"c", "http://127.0.0.1:3", {}, false, false}};
    c.partitions = {{0, "a", true, 10, 12, 2},
                    {1, "b", std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
    return 0;
  });
  auto r = request(s.port(), verb::get, "/cluster");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("instance").as_string(), "a");
  EXPECT_EQ(r.body.at("partitions_total").as_int64(), 2);
  const auto& members = r.body.at("members").as_array();
  ASSERT_EQ(members.size(), 3u);
  EXPECT_TRUE(members[1].at("alive").as_bool());
  EXPECT_FALSE(members[2].at("alive").as_bool());
  EXPECT_EQ(members[1].at("url").as_string(), "http://127.0.0.1:2");
  EXPECT_EQ(members[1].at("partitions").as_array().at(0).as_int64(), 1);
  EXPECT_TRUE(members[0].at("self").as_bool());
  const auto& parts = r.body.at("partitions").as_array();
  EXPECT_EQ(parts[0].at("lag").as_int64(), 2);
  EXPECT_EQ(parts[0].at("applied").as_int64(), 10);
  EXPECT_TRUE(parts[0].at("serving").as_bool());
  EXPECT_EQ(parts[1].at("owner").as_string(), "b");
  EXPECT_TRUE(parts[1].at("lag").is_null());
  EXPECT_TRUE(parts[1].at("serving").is_null());
}

TEST_F(Console, DeadLettersPaged) {
  s.on_io([this] {
    for (int i = 0; i < 5; ++i) {
      app::DeadLetterInfo d;
      d.offset = i;
      d.origin_topic = "bank";
      d.origin_partition = 1;
      d.origin_offset = 100 + i;
      d.reason = "malformed_event: not JSON";
      d.key = "k";
      d.value = i == 4 ? std::string("bad \xff bytes") : "{not json";
      if (i == 3) d.truncated_from = 2000000;
      s.inspector.letters.push_back(d);
    }
    return 0;
  });
  auto r = request(s.port(), verb::get, "/dlq?limit=3");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  auto letters = r.body.at("letters").as_array();
  ASSERT_EQ(letters.size(), 3u);
  EXPECT_EQ(letters[0].at("origin").at("topic").as_string(), "bank");
  EXPECT_EQ(letters[0].at("origin").at("offset").as_int64(), 100);
  EXPECT_EQ(letters[0].at("reason").as_string(), "malformed_event: not JSON");
  EXPECT_FALSE(letters[0].as_object().contains("truncated_from"));
  EXPECT_EQ(r.body.at("next").as_int64(), 2);

  r = request(s.port(), verb::get, "/dlq?limit=3&after=2");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  letters = r.body.at("letters").as_array();
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].at("truncated_from").as_int64(), 2000000);
  // Not UTF-8: the JSON stays valid, the byte becomes U+FFFD.
  EXPECT_EQ(letters[1].at("value").as_string(), "bad \xEF\xBF\xBD bytes");
  EXPECT_TRUE(r.body.at("next").is_null());

  for (const char* bad : {"x", "-1", "1.5"}) {
    r = request(s.port(), verb::get, std::string("/dlq?after=") + bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(error_code_of(r), "bad_request");
  }
  s.on_io([this] {
    s.inspector.fail = make_error_code(errc::timeout);
    return 0;
  });
  r = request(s.port(), verb::get, "/dlq");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(error_code_of(r), "log_unavailable");
  EXPECT_EQ(r.header("Retry-After"), "1");
}

TEST(AccountPrefix, CursorIsThePredecessorOfTheFirstMatch) {
  EXPECT_EQ(prefix_cursor("4f"), "4effffff-ffff-ffff-ffff-ffffffffffff");
  EXPECT_EQ(prefix_cursor("4a"), "49ffffff-ffff-ffff-ffff-ffffffffffff");
  EXPECT_EQ(prefix_cursor("12345678-1"), "12345678-0fff-ffff-ffff-ffffffffffff");
  EXPECT_EQ(prefix_cursor("00"), "");
  EXPECT_EQ(prefix_cursor("0b0e1c42-7a9d-4b4b-8f3a-1c1d2e3f4a5b"),
            "0b0e1c42-7a9d-4b4b-8f3a-1c1d2e3f4a5a");
  EXPECT_FALSE(prefix_cursor("xyz"));
  EXPECT_FALSE(prefix_cursor("123456789"));  // a dash belongs at index 8
  EXPECT_FALSE(prefix_cursor("4F"));         // lower case only (the handler lowers it)
  EXPECT_FALSE(prefix_cursor(std::string(37, '0')));
}

TEST_F(Console, AccountsByIdPrefix) {
  const std::vector<std::string> ids = {
      "0b0e1c42-7a9d-4b4b-8f3a-1c1d2e3f4a5b", "4f000000-0000-4000-8000-000000000001",
      "4f2a0000-0000-4000-8000-000000000002", "4f2a0000-0000-4000-8000-000000000003",
      "4f2b0000-0000-4000-8000-000000000004", "50000000-0000-4000-8000-000000000005"};
  s.on_io([&] {
    for (const auto& id : ids) s.bank.accts[id] = domain::Account{id, "n", 0, 1, ""};
    return 0;
  });
  auto list = [&](const std::string& query) {
    auto r = request(s.port(), verb::get, "/accounts?" + query);
    std::vector<std::string> got;
    if (r.status == 200u) {
      for (const auto& a : r.body.at("accounts").as_array())
        got.emplace_back(a.at("id").as_string());
    }
    return std::make_pair(r, got);
  };
  auto [r, got] = list("prefix=4f2A");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(got, (std::vector<std::string>{ids[2], ids[3]}));
  EXPECT_TRUE(r.body.at("next").is_null());

  std::tie(r, got) = list("prefix=4f&limit=2");
  EXPECT_EQ(got, (std::vector<std::string>{ids[1], ids[2]}));
  ASSERT_TRUE(r.body.at("next").is_string());
  std::tie(r, got) = list("prefix=4f&limit=2&after=" + std::string(r.body.at("next").as_string()));
  EXPECT_EQ(got, (std::vector<std::string>{ids[3], ids[4]}));
  std::tie(r, got) = list("prefix=4f&limit=2&after=" + ids[4]);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(r.body.at("next").is_null());

  std::tie(r, got) = list("prefix=" + ids[0]);  // a whole id
  EXPECT_EQ(got, (std::vector<std::string>{ids[0]}));
  std::tie(r, got) = list("prefix=");
  EXPECT_EQ(got.size(), ids.size());
  std::tie(r, got) = list("prefix=7");
  EXPECT_TRUE(got.empty());

  for (const char* bad : {"xyz", "123456789", "%zz"}) {
    std::tie(r, got) = list(std::string("prefix=") + bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_EQ(error_code_of(r), "bad_request") << bad;
  }
}

}  // namespace
}  // namespace xbanku::api
