// `overloaded{lambdas...}`: one visitor of several lambdas for std::visit over a variant.
#pragma once

namespace mda {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace mda
