// A config schema as data: one FieldSpec per key names the member of Config it sets, how its
// value is checked, the default the docs show and one line of doc. field_reader.h reads a file
// by such a table; schema.cpp holds db_relocate's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/block_reader.h"
#include "config/config.h"

namespace dbr::fields {

// The member of Config a field sets.
template <typename T>
using MemberOf = T& (*)(Config&);

// MemberAt<&Config::src, &ServerConfig::port> gives config.src.port (a fold over `.*`).
// clang-format off
template <auto... kPath>
constexpr auto MemberAt = +[](Config& config) -> auto& { return (config .* ... .* kPath); };
// clang-format on

// A shape a text value must have, beyond being text.
struct TextFormat {
  std::string_view name;      // in help: "host:port"
  std::string_view expected;  // in messages: "host:port such as 127.0.0.1:6432"
  bool (*valid)(const std::string& value);
};

struct TextRules {
  bool secret = false;     // a password: never echoed; named in literal_password_fields when the
                           // file holds it in plain text rather than through ${ENV_VAR}
  bool non_empty = false;  // "" is an error
  bool required = false;   // its block, when present, must set it
  bool path = false;       // a relative path is relative to the config file's folder
  std::vector<std::string_view> choices;  // when not empty, the value must be one of these
  bool quote_choices = false;             // messages show the choices in quotes
  const TextFormat* format = nullptr;
};

// The member a text field sets: a string, or an enum set by its name (EnumNames).
struct TextMember {
  std::string (*get)(Config&);
  void (*set)(Config&, const std::string&);  // for an enum, only a name of its table
};

struct TextField {
  TextMember member;
  TextRules rules;
};
struct IntField {
  std::variant<MemberOf<int>, MemberOf<int64_t>> member;
  int64_t min;
  int64_t max;

  int64_t Get(Config& config) const {
    return std::visit([&](auto at) -> int64_t { return at(config); }, member);
  }
  void Set(Config& config, int64_t n) const {  // n within [min, max], which fit the member
    std::visit(
        [&](auto at) {
          at(config) = static_cast<std::remove_reference_t<decltype(at(config))>>(n);
        },
        member);
  }
};
struct SecondsField {  // a positive, finite number
  MemberOf<double> member;
};
struct BoolField {
  MemberOf<bool> member;
};
struct ListField {
  MemberOf<std::vector<std::string>> member;
  ListShape shape;
};
struct BlockField {                  // a map of the fields named "<its key>.<field>"
  MemberOf<bool> present = nullptr;  // set to true when the file has the block
};
using FieldValue =
    std::variant<TextField, IntField, SecondsField, BoolField, ListField, BlockField>;

template <auto... kPath>
using MemberType = std::remove_reference_t<decltype(MemberAt<kPath...>(std::declval<Config&>()))>;

template <auto... kPath>
TextMember TextMemberAt() {
  using T = MemberType<kPath...>;
  if constexpr (std::is_same_v<T, std::string>) {
    return {+[](Config& c) { return MemberAt<kPath...>(c); },
            +[](Config& c, const std::string& v) { MemberAt<kPath...>(c) = v; }};
  } else {
    static_assert(NamedEnum<T>, "a text field sets a string or a named enum");
    return {+[](Config& c) { return std::string(NameOf(MemberAt<kPath...>(c))); },
            +[](Config& c, const std::string& v) {
              if (auto e = FromName<T>(v)) MemberAt<kPath...>(c) = *e;
            }};
  }
}

// A text field; one that sets an enum takes its names as the choices.
template <auto... kPath>
TextField Text(TextRules rules = {}) {
  using T = MemberType<kPath...>;
  if constexpr (NamedEnum<T>) {
    if (rules.choices.empty())
      for (const auto& entry : EnumNames<T>::kTable) rules.choices.push_back(entry.second);
  }
  return {TextMemberAt<kPath...>(), std::move(rules)};
}
template <auto... kPath>
TextField Password() {
  return {TextMemberAt<kPath...>(), {.secret = true}};
}
template <auto... kPath>
IntField Int(int64_t min, int64_t max) {
  return {MemberAt<kPath...>, min, max};
}
template <auto... kPath>
SecondsField Seconds() {
  return {MemberAt<kPath...>};
}
template <auto... kPath>
BoolField Bool() {
  return {MemberAt<kPath...>};
}
template <auto... kPath>
ListField List(ListShape shape = {}) {
  return {MemberAt<kPath...>, shape};
}
inline BlockField Block() {
  return {};
}
template <auto kBlock, auto kPresent>
BlockField Block() {
  return {MemberAt<kBlock, kPresent>};
}

// The default a field's docs and help show.
struct DefaultText {
  DefaultText() = default;                         // the member's own default in Config, as it is
  DefaultText(const char* words) : text(words) {}  // NOLINT(implicit): a default told in words

  std::string_view text;
  bool inherited = false;  // `text` is another field's key, whose value this one takes when unset
};

// The field takes the value of field `key` when the file does not set it.
inline DefaultText From(const char* key) {
  DefaultText d(key);
  d.inherited = true;
  return d;
}

}  // namespace dbr::fields

namespace dbr {

struct FieldSpec {
  std::string_view key;  // "jobs" at the top level, "src.port" in a block
  fields::FieldValue value;
  fields::DefaultText default_text;
  std::string_view doc;  // one line, for `db_relocate help config`
};

}  // namespace dbr
