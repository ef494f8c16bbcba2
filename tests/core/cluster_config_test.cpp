// core/cluster_config.hpp: MDStoreEtcd's arguments, and their place in the engine's JSON.
#include <catch2/catch.hpp>

#include "core/cluster_config.hpp"
#include "core/engine_config.hpp"

using namespace mda;

TEST_CASE("MDStoreEtcd: endpoints, options and defaults", "[cluster][config]") {
  auto c = parse_store_etcd({"http://10.0.0.1:2379,https://[::1]:2379/", "https://e3:2379",
                             "prefix=/web", "ca=/etc/etcd/ca.pem", "cert=c.pem", "key=k.pem",
                             "node=web-1", "lease=15"});
  REQUIRE(c);
  CHECK(c->endpoints ==
        std::vector<std::string>{"http://10.0.0.1:2379", "https://[::1]:2379", "https://e3:2379"});
  CHECK(c->prefix == "/web");
  CHECK(c->ca_file == "/etc/etcd/ca.pem");
  CHECK(c->cert_file == "c.pem");
  CHECK(c->key_file == "k.pem");
  CHECK(c->node == "web-1");
  CHECK(c->lease_seconds == 15);
  CHECK(cluster_node_name(*c) == "web-1");

  auto d = parse_store_etcd({"http://127.0.0.1:2379"});
  REQUIRE(d);
  CHECK(d->prefix == "/mdactor");
  CHECK(d->lease_seconds == 10);
  CHECK(d->enabled());
  CHECK_FALSE(cluster_config{}.enabled());
  CHECK_FALSE(cluster_node_name(*d).empty());
}

TEST_CASE("MDStoreEtcd: every bad argument named", "[cluster][config]") {
  auto msg = [](std::vector<std::string> args) {
    auto c = parse_store_etcd(args);
    REQUIRE_FALSE(c);
    return c.error().message;
  };
  CHECK(msg({}) == "MDStoreEtcd: needs at least one endpoint");
  CHECK(msg({"etcd:2379"}) == "MDStoreEtcd: endpoint 'etcd:2379' must start with http:// or https://");
  CHECK(msg({"http://"}) == "MDStoreEtcd: endpoint 'http://' has no host");
  CHECK(msg({"http://e:1", "prefix=web"}) ==
        "MDStoreEtcd: prefix 'web' must start with '/', not end with '/' and have no white space");
  CHECK(msg({"http://e:1", "prefix=/web/"}) ==
        "MDStoreEtcd: prefix '/web/' must start with '/', not end with '/' and have no white space");
  CHECK(msg({"http://e:1", "lease=1"}) == "MDStoreEtcd: lease '1' is not 2..300");
  CHECK(msg({"http://e:1", "lease=ten"}) == "MDStoreEtcd: lease 'ten' is not 2..300");
  CHECK(msg({"http://e:1", "cert=c.pem"}) == "MDStoreEtcd: cert= and key= go together");
  CHECK(msg({"http://e:1", "foo=1"}) == "MDStoreEtcd: unknown parameter 'foo=1'");
  CHECK(msg({"http://e:1", "node=a/b"}) == "MDStoreEtcd: node 'a/b' must have no '/' and no white space");
  CHECK(msg({"http://e:1", "ca="}) == "MDStoreEtcd: 'ca=' has no value");
  CHECK(msg({"prefix=/x"}) == "MDStoreEtcd: needs at least one endpoint");
}

TEST_CASE("engine config JSON carries MDStoreEtcd, and leaves it out when off", "[cluster][config]") {
  engine_settings s;
  s.store_dir = "/var/lib/md";
  CHECK_FALSE(to_json(s).contains("store-etcd"));
  s.cluster = *parse_store_etcd({"http://127.0.0.1:2379,http://127.0.0.1:2380", "node=n1", "lease=4"});
  auto j = to_json(s);
  REQUIRE(j.contains("store-etcd"));
  CHECK(j["store-etcd"].dump() ==
        R"({"endpoints":["http://127.0.0.1:2379","http://127.0.0.1:2380"],"prefix":"/mdactor","ca":"","cert":"","key":"","node":"n1","lease":4})");
  auto back = engine_settings_from_json(j, "test");
  REQUIRE(back);
  CHECK(back->cluster == s.cluster);
  auto bad = j;
  bad["store-etcd"]["lease"] = "x";
  auto b = engine_settings_from_json(bad, "test");
  REQUIRE_FALSE(b);
}
