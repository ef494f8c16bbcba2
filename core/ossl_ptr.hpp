// Owning pointers for OpenSSL objects: std::unique_ptr with the object's own free function,
// e.g. ossl_ptr<BN_CTX, BN_CTX_free>. For free functions returning void (BIO_free, which
// returns int, keeps its own deleter where used).
#pragma once

#include <memory>

namespace mda {

template <class T, void (*Free)(T*)>
struct ossl_free {
  void operator()(T* p) const { Free(p); }
};

template <class T, void (*Free)(T*)>
using ossl_ptr = std::unique_ptr<T, ossl_free<T, Free>>;

} // namespace mda
