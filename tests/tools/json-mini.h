// SPDX-License-Identifier: MIT
// A strict little JSON parser for the rseq-inspect tests: rejects anything that is
// not valid JSON (trailing commas, bad escapes, invalid UTF-8 in strings, trailing
// garbage), so that the tests also check the tool's output is well formed.
#ifndef RSEQKIT_TESTS_JSON_MINI_H
#define RSEQKIT_TESTS_JSON_MINI_H

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace jsonmini {

struct Value {
	enum class Type { null, boolean, number, string, array, object };
	Type type = Type::null;
	bool b = false;
	double num = 0;
	std::string raw;  // a number's text, or a string's value
	std::vector<Value> items;
	std::map<std::string, Value> fields;

	bool is_null() const { return type == Type::null; }
	const Value &operator[](const std::string &key) const
	{
		if (type != Type::object)
			throw std::runtime_error("not an object (looking up '" + key + "')");
		auto it = fields.find(key);
		if (it == fields.end())
			throw std::runtime_error("no key '" + key + "'");
		return it->second;
	}
	const Value &operator[](size_t i) const
	{
		if (type != Type::array || i >= items.size())
			throw std::runtime_error("no array element " + std::to_string(i));
		return items[i];
	}
	bool has(const std::string &key) const { return type == Type::object && fields.count(key); }
	size_t size() const { return type == Type::array ? items.size() : fields.size(); }
	const std::string &str() const
	{
		if (type != Type::string)
			throw std::runtime_error("not a string");
		return raw;
	}
	long long integer() const
	{
		if (type != Type::number || raw.find_first_of(".eE") != std::string::npos)
			throw std::runtime_error("not an integer");
		return std::stoll(raw);
	}
	bool boolean() const
	{
		if (type != Type::boolean)
			throw std::runtime_error("not a boolean");
		return b;
	}
};

class Parser {
public:
	explicit Parser(const std::string &text) : s_(text) {}
	Value parse()
	{
		Value v = value();
		ws();
		if (p_ != s_.size())
			fail("trailing characters");
		return v;
	}

private:
	[[noreturn]] void fail(const std::string &what)
	{
		throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(p_));
	}
	void ws()
	{
		while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\t' || s_[p_] == '\r'))
			p_++;
	}
	bool eat(char c)
	{
		ws();
		if (p_ < s_.size() && s_[p_] == c) {
			p_++;
			return true;
		}
		return false;
	}
	void expect(char c)
	{
		if (!eat(c))
			fail(std::string("expected '") + c + "'");
	}
	bool literal(const char *word)
	{
		size_t n = std::char_traits<char>::length(word);
		if (s_.compare(p_, n, word) == 0) {
			p_ += n;
			return true;
		}
		return false;
	}
	Value value()
	{
		ws();
		if (p_ >= s_.size())
			fail("unexpected end");
		Value v;
		char c = s_[p_];
		if (c == '{') {
			p_++;
			v.type = Value::Type::object;
			if (eat('}'))
				return v;
			do {
				ws();
				std::string key = string();
				expect(':');
				if (v.fields.count(key))
					fail("duplicate key '" + key + "'");
				v.fields.emplace(key, value());
			} while (eat(','));
			expect('}');
		} else if (c == '[') {
			p_++;
			v.type = Value::Type::array;
			if (eat(']'))
				return v;
			do
				v.items.push_back(value());
			while (eat(','));
			expect(']');
		} else if (c == '"') {
			v.type = Value::Type::string;
			v.raw = string();
		} else if (literal("true")) {
			v.type = Value::Type::boolean;
			v.b = true;
		} else if (literal("false")) {
			v.type = Value::Type::boolean;
		} else if (literal("null")) {
			v.type = Value::Type::null;
		} else {
			v.type = Value::Type::number;
			size_t start = p_;
			if (p_ < s_.size() && s_[p_] == '-')
				p_++;
			if (p_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[p_])))
				fail("bad value");
			if (s_[p_] == '0')
				p_++;
			else
				while (p_ < s_.size() && isdigit(static_cast<unsigned char>(s_[p_])))
					p_++;
			if (p_ < s_.size() && s_[p_] == '.') {
				p_++;
				if (p_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[p_])))
					fail("bad number");
				while (p_ < s_.size() && isdigit(static_cast<unsigned char>(s_[p_])))
					p_++;
			}
			if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
				p_++;
				if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-'))
					p_++;
				if (p_ >= s_.size() || !isdigit(static_cast<unsigned char>(s_[p_])))
					fail("bad number");
				while (p_ < s_.size() && isdigit(static_cast<unsigned char>(s_[p_])))
					p_++;
			}
			v.raw = s_.substr(start, p_ - start);
			v.num = std::stod(v.raw);
		}
		return v;
	}
	static void put_utf8(std::string &out, uint32_t cp)
	{
		if (cp < 0x80) {
			out += static_cast<char>(cp);
		} else if (cp < 0x800) {
			out += static_cast<char>(0xc0 | cp >> 6);
			out += static_cast<char>(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out += static_cast<char>(0xe0 | cp >> 12);
			out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
			out += static_cast<char>(0x80 | (cp & 0x3f));
		} else {
			out += static_cast<char>(0xf0 | cp >> 18);
			out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
			out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
			out += static_cast<char>(0x80 | (cp & 0x3f));
		}
	}
	uint32_t hex4()
	{
		if (p_ + 4 > s_.size())
			fail("short \\u escape");
		uint32_t v = 0;
		for (int i = 0; i < 4; i++) {
			char c = s_[p_++];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= static_cast<uint32_t>(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= static_cast<uint32_t>(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= static_cast<uint32_t>(c - 'A' + 10);
			else
				fail("bad \\u escape");
		}
		return v;
	}
	std::string string()
	{
		if (p_ >= s_.size() || s_[p_] != '"')
			fail("expected a string");
		p_++;
		std::string out;
		for (;;) {
			if (p_ >= s_.size())
				fail("unterminated string");
			auto c = static_cast<unsigned char>(s_[p_]);
			if (c == '"') {
				p_++;
				return out;
			}
			if (c < 0x20)
				fail("control character in string");
			if (c == '\\') {
				p_++;
				if (p_ >= s_.size())
					fail("bad escape");
				char e = s_[p_++];
				switch (e) {
				case '"': out += '"'; break;
				case '\\': out += '\\'; break;
				case '/': out += '/'; break;
				case 'b': out += '\b'; break;
				case 'f': out += '\f'; break;
				case 'n': out += '\n'; break;
				case 'r': out += '\r'; break;
				case 't': out += '\t'; break;
				case 'u': {
					uint32_t cp = hex4();
					if (cp >= 0xd800 && cp <= 0xdbff) {
						if (s_.compare(p_, 2, "\\u") != 0)
							fail("lone surrogate");
						p_ += 2;
						uint32_t lo = hex4();
						if (lo < 0xdc00 || lo > 0xdfff)
							fail("bad surrogate pair");
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					} else if (cp >= 0xdc00 && cp <= 0xdfff) {
						fail("lone surrogate");
					}
					put_utf8(out, cp);
					break;
				}
				default:
					fail("bad escape");
				}
				continue;
			}
			// Raw bytes must be valid UTF-8.
			size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
			if (n == 0 || p_ + n > s_.size())
				fail("invalid UTF-8");
			for (size_t k = 1; k < n; k++)
				if ((static_cast<unsigned char>(s_[p_ + k]) & 0xc0) != 0x80)
					fail("invalid UTF-8");
			out.append(s_, p_, n);
			p_ += n;
		}
	}

	const std::string &s_;
	size_t p_ = 0;
};

inline Value parse(const std::string &text)
{
	return Parser(text).parse();
}

}  // namespace jsonmini

#endif
