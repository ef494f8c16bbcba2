// Owning pointers for OpenSSL objects: std::unique_ptr with the object's own free function,
// e.g. ossl_ptr<BN_CTX, BN_CTX_free> or ossl_ptr<BIO, BIO_free> (a free function's result,
// where it has one, is ignored). Stacks freed together with their elements (sk_*_pop_free)
// need a deleter of their own.
#pragma once

#include <memory>

namespace mda {

template <class T, auto Free>
struct ossl_free {
  void operator()(T* p) const { Free(p); }
};

template <class T, auto Free>
using ossl_ptr = std::unique_ptr<T, ossl_free<T, Free>>;

} // namespace mda
