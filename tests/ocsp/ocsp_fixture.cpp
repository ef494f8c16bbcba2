#include "tests/ocsp/ocsp_fixture.hpp"

#include <memory>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/key_spec.hpp"
#include "tests/support/child_process.hpp"

namespace mda::test::ocsp {

namespace {

void must(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test fixture: ") + what + " failed");
}

void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  must(ext != nullptr, "X509V3_EXT_conf_nid()");
  must(X509_add_ext(x, ext, -1) == 1, "X509_add_ext()");
  X509_EXTENSION_free(ext);
}

void set_basics(X509* x, const cert_options& o, const issued* issuer, const private_key& key) {
  must(X509_set_version(x, 2) == 1, "X509_set_version()");
  unsigned char serial[16];
  must(RAND_bytes(serial, sizeof serial) == 1, "RAND_bytes()");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  must(bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)), "BN_to_ASN1_INTEGER()");
  BN_free(bn);
  must(ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(to_unix(o.not_before))) &&
           ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(to_unix(o.not_after))),
       "ASN1_TIME_set()");
  X509_NAME* name = X509_get_subject_name(x);
  must(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(o.cn.c_str()), -1, -1, 0),
       "X509_NAME_add_entry_by_txt()");
  must(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name),
       "X509_set_issuer_name()");
  must(X509_set_pubkey(x, key.get()) == 1, "X509_set_pubkey()");
}

} // namespace

issued make_cert(const cert_options& o, const issued* issuer) {
  auto key = private_key::generate(key_spec::ec("P-256"));
  must(key.ok(), "private_key::generate()");
  X509* x = X509_new();
  must(x != nullptr, "X509_new()");
  certificate owner = certificate::adopt(x);
  set_basics(x, o, issuer, *key);
  X509* signer_cert = issuer ? issuer->cert.get() : x;
  add_ext(x, signer_cert, NID_basic_constraints, o.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x, signer_cert, NID_key_usage,
          o.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x, signer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(x, signer_cert, NID_authority_key_identifier, "keyid:always");
  if (!o.ocsp_url.empty())
    add_ext(x, signer_cert, NID_info_access, ("OCSP;URI:" + o.ocsp_url).c_str());
  if (o.ocsp_signing) add_ext(x, signer_cert, NID_ext_key_usage, "OCSPSigning");
  const private_key& sign_key = issuer ? issuer->key : *key;
  must(X509_sign(x, sign_key.get(), EVP_sha256()) > 0, "X509_sign()");
  return {*key, owner};
}

test_pki make_pki(sys_time now, const std::string& ocsp_url) {
  const sys_time from = now - std::chrono::hours(1);
  const sys_time until = now + std::chrono::hours(24 * 30);
  test_pki p;
  p.root = make_cert({"Test OCSP Root", true, "", false, from, until}, nullptr);
  p.inter = make_cert({"Test OCSP Intermediate", true, "", false, from, until}, &p.root);
  p.leaf = make_cert({"leaf.test", false, ocsp_url, false, from, until}, &p.inter);
  return p;
}

std::string make_response(const mda::ocsp::cert_id& id, const issued& signer,
                          const response_options& o) {
  OCSP_RESPONSE* resp = nullptr;
  if (o.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    resp = OCSP_response_create(o.response_status, nullptr);
  } else {
    OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
    must(bs != nullptr, "OCSP_BASICRESP_new()");
    ASN1_TIME* rev = ASN1_TIME_set(nullptr, static_cast<time_t>(to_unix(o.revoked_at)));
    ASN1_TIME* thisu = ASN1_TIME_set(nullptr, static_cast<time_t>(to_unix(o.this_update)));
    ASN1_TIME* nextu =
        o.next_update ? ASN1_TIME_set(nullptr, static_cast<time_t>(to_unix(*o.next_update))) : nullptr;
    must(OCSP_basic_add1_status(bs, id.get(), o.cert_status, o.reason,
                                o.cert_status == V_OCSP_CERTSTATUS_REVOKED ? rev : nullptr, thisu,
                                nextu) != nullptr,
         "OCSP_basic_add1_status()");
    ASN1_TIME_free(rev);
    ASN1_TIME_free(thisu);
    ASN1_TIME_free(nextu);
    if (o.nonce) {
      std::string n = *o.nonce;
      must(OCSP_basic_add1_nonce(bs, reinterpret_cast<unsigned char*>(n.data()),
                                 static_cast<int>(n.size())) == 1,
           "OCSP_basic_add1_nonce()");
    }
    STACK_OF(X509)* extra = sk_X509_new_null();
    for (const auto& c : o.extra_certs) sk_X509_push(extra, c.get());
    must(OCSP_basic_sign(bs, signer.cert.get(), signer.key.get(), EVP_sha256(), extra,
                         o.include_signer ? 0 : OCSP_NOCERTS) == 1,
         "OCSP_basic_sign()");
    sk_X509_free(extra);
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    OCSP_BASICRESP_free(bs);
  }
  must(resp != nullptr, "OCSP_response_create()");
  unsigned char* der = nullptr;
  int len = i2d_OCSP_RESPONSE(resp, &der);
  OCSP_RESPONSE_free(resp);
  must(len > 0, "i2d_OCSP_RESPONSE()");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

background_process::background_process(const std::vector<std::string>& argv,
                                       const std::string& log_file)
    : pid_(spawn_child(argv, log_file)) {}

background_process::~background_process() { stop(); }

void background_process::stop() { stop_child(pid_, std::chrono::seconds(2)); }

bool wait_for_text(const std::string& file, const std::string& text, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (content.str().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

} // namespace mda::test::ocsp
