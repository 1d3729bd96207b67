// The one translation unit that compiles Boost.Asio (with its OpenSSL layer) and Boost.Beast
// (separate compilation): every other file sees only their declarations, which keeps builds on
// two cores bearable.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
