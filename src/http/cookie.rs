//! Cookie parsing and Set-Cookie building (RFC 6265bis).
