// How config messages show names and values.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/text.h"  // Join

namespace dbr {

// "src.host" for key "host" of block "src"; the key alone at the top level (block "").
std::string DottedName(const std::string& block, const std::string& key);

std::string Quoted(const std::string& s);

// Text from the file made safe for a terminal: control characters (C0, C1, DEL) and bytes that
// are not well-formed UTF-8 replaced by '?', one for each.
std::string Printable(std::string_view text);

// A value echoed back in a message: quoted, made Printable, long text shortened.
std::string Shown(const std::string& value);

// What a YAML node is, for "expected ..., got a list": "a list", "a map", "nothing", "a value".
std::string KindOf(const YAML::Node& node);

// Lower case, '-' as '_': how keys and booleans are compared loosely.
std::string Normalized(std::string s);

// At least one character, and only 0-9.
bool IsDigits(std::string_view s);

}  // namespace dbr
