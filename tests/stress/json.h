// SPDX-License-Identifier: MIT
// A small JSON reader for the stress tests: enough for rseq-stress --json (objects,
// arrays, strings without \u escapes beyond ASCII, numbers, true, false, null).
// Numbers keep their text, so that 64-bit counts are read exactly.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace json {

struct value {
	enum kind { null, boolean, number, string, array, object } k = null;
	bool b = false;
	std::string text;  // number text or string contents
	std::vector<value> items;
	std::map<std::string, value> fields;

	bool has(const std::string &key) const { return k == object && fields.count(key) != 0; }
	const value &operator[](const std::string &key) const
	{
		static const value none;
		auto it = fields.find(key);
		return it == fields.end() ? none : it->second;
	}
	uint64_t u64() const { return k == number ? std::strtoull(text.c_str(), nullptr, 10) : 0; }
	double num() const { return k == number ? std::strtod(text.c_str(), nullptr) : 0; }
};

class parser {
public:
	explicit parser(const std::string &s) : s_(s) {}

	// Parses the whole text as one value; false (with error()) if it is not exactly that.
	bool parse(value &out)
	{
		if (!parse_value(out))
			return false;
		skip();
		if (i_ != s_.size())
			return fail("text after the document");
		return true;
	}
	const std::string &error() const { return err_; }

private:
	bool fail(const char *what)
	{
		err_ = std::string(what) + " at offset " + std::to_string(i_);
		return false;
	}
	void skip()
	{
		while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
			++i_;
	}
	bool literal(const char *word)
	{
		std::string w(word);
		if (s_.compare(i_, w.size(), w) != 0)
			return fail("bad literal");
		i_ += w.size();
		return true;
	}
	bool parse_string(std::string &out)
	{
		if (i_ >= s_.size() || s_[i_] != '"')
			return fail("expected a string");
		++i_;
		while (i_ < s_.size() && s_[i_] != '"') {
			char c = s_[i_++];
			if (c == '\\') {
				if (i_ >= s_.size())
					return fail("unterminated escape");
				char e = s_[i_++];
				switch (e) {
				case 'n': out += '\n'; break;
				case 't': out += '\t'; break;
				case 'r': out += '\r'; break;
				case 'b': out += '\b'; break;
				case 'f': out += '\f'; break;
				case 'u': {
					if (i_ + 4 > s_.size())
						return fail("short \\u escape");
					unsigned long cp = std::strtoul(s_.substr(i_, 4).c_str(), nullptr, 16);
					i_ += 4;
					out += cp < 0x80 ? static_cast<char>(cp) : '?';
					break;
				}
				default: out += e; break;
				}
			} else if (static_cast<unsigned char>(c) < 0x20) {
				return fail("control character in a string");
			} else {
				out += c;
			}
		}
		if (i_ >= s_.size())
			return fail("unterminated string");
		++i_;
		return true;
	}
	bool parse_value(value &v)
	{
		if (++depth_ > 64)
			return fail("nested too deep");
		skip();
		if (i_ >= s_.size())
			return fail("unexpected end");
		char c = s_[i_];
		bool ok = true;
		if (c == '{') {
			v.k = value::object;
			++i_;
			skip();
			if (i_ < s_.size() && s_[i_] == '}') {
				++i_;
			} else {
				for (;;) {
					skip();
					std::string key;
					if (!parse_string(key))
						return false;
					skip();
					if (i_ >= s_.size() || s_[i_] != ':')
						return fail("expected ':'");
					++i_;
					value item;
					if (!parse_value(item))
						return false;
					if (v.fields.count(key))
						return fail("duplicate key");
					v.fields.emplace(key, std::move(item));
					skip();
					if (i_ < s_.size() && s_[i_] == ',') {
						++i_;
						continue;
					}
					if (i_ < s_.size() && s_[i_] == '}') {
						++i_;
						break;
					}
					return fail("expected ',' or '}'");
				}
			}
		} else if (c == '[') {
			v.k = value::array;
			++i_;
			skip();
			if (i_ < s_.size() && s_[i_] == ']') {
				++i_;
			} else {
				for (;;) {
					value item;
					if (!parse_value(item))
						return false;
					v.items.push_back(std::move(item));
					skip();
					if (i_ < s_.size() && s_[i_] == ',') {
						++i_;
						continue;
					}
					if (i_ < s_.size() && s_[i_] == ']') {
						++i_;
						break;
					}
					return fail("expected ',' or ']'");
				}
			}
		} else if (c == '"') {
			v.k = value::string;
			ok = parse_string(v.text);
		} else if (c == 't') {
			v.k = value::boolean;
			v.b = true;
			ok = literal("true");
		} else if (c == 'f') {
			v.k = value::boolean;
			ok = literal("false");
		} else if (c == 'n') {
			ok = literal("null");
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			v.k = value::number;
			size_t start = i_;
			if (s_[i_] == '-')
				++i_;
			while (i_ < s_.size() && ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' || s_[i_] == 'e' ||
						  s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-'))
				++i_;
			v.text = s_.substr(start, i_ - start);
		} else {
			return fail("unexpected character");
		}
		--depth_;
		return ok;
	}

	const std::string &s_;
	size_t i_ = 0;
	int depth_ = 0;
	std::string err_;
};

}  // namespace json
