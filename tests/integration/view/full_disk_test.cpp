// The view on a full filesystem (issue: faults, "the data directory's filesystem full"): a
// commit fails with errc::store_unwritable and stores nothing, resume() keeps refusing while
// the disk is full, and once space returns writes go on and what was committed is kept.
//
// The store refuses before RocksDB meets the full disk (StoreOptions::min_free_bytes): with
// no such guard, a flush meeting ENOSPC aborted this test inside librocksdb 7.8 (Debian's build
// keeps assertions on: writable_file_writer.h:312 `sync_without_flush_called_`).
//
// Needs root, to mount a small tmpfs of its own; skips (saying so) otherwise.
#include "xbanku/common/error.hpp"
#include "xbanku/view/store.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace xbanku::view {
namespace {

namespace fs = std::filesystem;

// A tmpfs of `size` mounted on a fresh folder, unmounted and removed at the end.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const char* size) {
    std::string pattern = (fs::temp_directory_path() / "xbanku-full-disk-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      why_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    dir_ = pattern;
    const std::string options = std::string("size=") + size;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_ = std::string("mount tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] const std::string& why() const { return why_; }
  [[nodiscard]] const fs::path& dir() const { return dir_; }

  // Writes a filler file until the filesystem refuses: returns the bytes written.
  std::size_t fill() {
    std::FILE* f = std::fopen((dir_ / "filler").c_str(), "wb");
    if (f == nullptr) return 0;
    const std::vector<char> chunk(64 * 1024, 'x');
    std::size_t written = 0;
    while (true) {
      const std::size_t n = std::fwrite(chunk.data(), 1, chunk.size(), f);
      written += n;
      if (n < chunk.size() || std::fflush(f) != 0) break;
    }
    std::fclose(f);
    return written;
  }
  void make_room() { fs::remove(dir_ / "filler"); }

 private:
  fs::path dir_;
  std::string why_;
  bool mounted_ = false;
};

// One commit: the next offsets of 2,000 partitions (about 40 KB in the memtables, so a flush
// every few commits with 256 KiB of memtables).
boost::system::error_code commit_offsets(Store& store, std::int64_t next) {
  auto batch = store.begin();
  for (std::int32_t p = 0; p < 2000; ++p) batch.set_next_offset(p, next);
  return store.commit(batch);
}

std::int64_t stored_offset(const Store& store) {
  auto stored = store.next_offset(0);
  return stored && *stored ? **stored : -1;
}

TEST(FullDisk, CommitsAreRefusedWhileFullThenGoOnAndNothingCommittedIsLost) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  SmallFilesystem disk("32m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot make a small filesystem here: " << disk.why();

  const StoreOptions options{
      .dir = disk.dir() / "view", .memtable_bytes = 256 << 10, .min_free_bytes = 4 << 20};
  {
    auto store = Store::open(options);
    ASSERT_TRUE(store) << store.error().message();
    // Enough commits for a few flushes while there is room.
    for (std::int64_t next = 1; next <= 40; ++next) ASSERT_FALSE(commit_offsets(**store, next));
    EXPECT_EQ((*store)->last_write_error(), "");

    ASSERT_GT(disk.fill(), 0u);
    // Refused before RocksDB writes anything: no flush falls due on a full disk.
    for (int i = 0; i < 100; ++i) {
      const auto refused = commit_offsets(**store, 41);
      ASSERT_EQ(refused, errc::store_unwritable) << refused.message();
    }
    EXPECT_NE((*store)->last_write_error().find("MiB available, less than the 4 MiB"),
              std::string::npos)
        << (*store)->last_write_error();
    EXPECT_EQ(stored_offset(**store), 40) << "a refused commit stored something";
    EXPECT_EQ((*store)->resume(), errc::store_unwritable) << "resumed on a full disk";

    disk.make_room();
    const auto resumed = (*store)->resume();
    ASSERT_FALSE(resumed) << resumed.message() << ": " << (*store)->last_write_error();
    EXPECT_EQ((*store)->last_write_error(), "");
    for (std::int64_t next = 41; next <= 60; ++next) ASSERT_FALSE(commit_offsets(**store, next));
  }
  // Reopened (the close flushed): every commit that succeeded is there.
  auto store = Store::open(options);
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(stored_offset(**store), 60);
}

}  // namespace
}  // namespace xbanku::view
