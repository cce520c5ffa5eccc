// Result<T>: errors are values. Untrusted input (network, files, user) never
// trips an assert; it produces an Error that ends in a clear message or a
// disconnect with a reason. Asserts are reserved for our own bugs.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace openstreaming {

enum class Errc {
  invalid_input,    // malformed text or bytes
  bad_length,       // right alphabet, wrong size
  bad_checksum,     // EIP-55 mixed-case address that does not match its checksum
  bad_signature,    // not a valid/canonical signature, or does not verify
  wrong_password,   // keystore MAC mismatch
  corrupt_keystore, // keystore JSON missing fields, wrong types, bad parameters
  unsupported,      // well formed but a feature we do not implement (cipher, kdf, ...)
  overflow,         // arithmetic result does not fit
  not_found,
  already_exists,
  io,
};

struct Error {
  Errc code;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::move(value)) {}   // NOLINT(google-explicit-constructor)
  Result(Error error) : m_v(std::move(error)) {} // NOLINT(google-explicit-constructor)

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(m_v);
  }

private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {} // NOLINT
  bool ok() const { return m_ok; }
  explicit operator bool() const { return m_ok; }
  const Error& error() const {
    assert(!m_ok);
    return m_error;
  }

private:
  Error m_error{Errc::invalid_input, {}};
  bool m_ok = true;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

} // namespace openstreaming
