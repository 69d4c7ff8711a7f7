// Escaping for text and attribute values in the report's HTML and its inline SVG.
#pragma once

#include <string>
#include <string_view>

namespace dbr::html {

// & < > " ' as character references: safe in element text and in quoted attributes.
std::string Escape(std::string_view text);

}  // namespace dbr::html
