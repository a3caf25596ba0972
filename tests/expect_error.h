#pragma once
// Bad-input tests of the library: `fn` must throw osp::Error whose message names every part.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "osp/core/error.h"

namespace osp::test {

template <typename Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no osp::Error thrown (expected: " << *parts.begin() << ")";
  } catch (const osp::Error& e) {
    for (const std::string& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// The message of the osp::Error that `fn` throws, or "(no error)".
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const osp::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace osp::test
