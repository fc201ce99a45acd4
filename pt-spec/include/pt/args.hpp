// Key/value arguments as the PT spec escapes them in three places:
//  - SOCKS5 per-connection args from the bridge line: "k=v;k=v", '\' escapes ';' '=' '\'
//  - SMETHOD ARGS:  "k=v,k=v", '\' escapes '\' '=' ','
//  - TOR_PT_SERVER_TRANSPORT_OPTIONS: "name:k=v;name:k=v", '\' escapes ':' ';' '\' (and '=')
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoplink::pt {

// Ordered, as given; a key may appear once.
using Args = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> find_arg(const Args& args, std::string_view key);

// nullopt on a malformed list: a pair without '=', an empty key, a duplicate key, a dangling '\'.
std::optional<Args> parse_socks_args(std::string_view text);
std::string format_socks_args(const Args& args);

// The text after "ARGS:" in an SMETHOD line.
std::string format_smethod_args(const Args& args);
std::optional<Args> parse_smethod_args(std::string_view text);

// transport name -> its options. nullopt when malformed.
std::optional<std::map<std::string, Args>> parse_server_transport_options(std::string_view text);

// [a-zA-Z_][a-zA-Z0-9_]*
bool is_valid_transport_name(std::string_view name);

}  // namespace hoplink::pt
