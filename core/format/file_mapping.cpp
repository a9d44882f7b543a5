#include "core/format/file_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/status.h"

namespace mixcon {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void io_fail(const std::string& path, const std::string& what, int err) {
  fail(Status::Io, path + ": " + what + ": " + std::strerror(err));
}

}  // namespace

std::unique_ptr<FileMapping> FileMapping::open(const std::string& path, bool use_mmap) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) io_fail(path, "cannot open", errno);
  struct stat st;
  if (::fstat(f.fd, &st) != 0) io_fail(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) fail(Status::Io, path + ": not a regular file");
  std::unique_ptr<FileMapping> m(new FileMapping());
  m->size_ = int64_t(st.st_size);
  if (m->size_ == 0) return m;
  if (use_mmap) {
    void* p = ::mmap(nullptr, size_t(m->size_), PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (p != MAP_FAILED) {
      m->map_ = p;
      m->data_ = static_cast<const uint8_t*>(p);
      return m;
    }
    // Some file systems cannot map; reading still works there.
  }
  m->copy_ = AlignedBuffer(m->size_);
  int64_t done = 0;
  while (done < m->size_) {
    const ssize_t n = ::pread(f.fd, m->copy_.data() + done, size_t(m->size_ - done), off_t(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail(path, "cannot read", errno);
    }
    if (n == 0) fail(Status::Io, path + ": file shrank while being read");
    done += n;
  }
  m->data_ = m->copy_.data();
  return m;
}

std::unique_ptr<FileMapping> FileMapping::copy_of(const void* data, int64_t size) {
  std::unique_ptr<FileMapping> m(new FileMapping());
  m->size_ = size;
  if (size > 0) {
    m->copy_ = AlignedBuffer(size);
    std::memcpy(m->copy_.data(), data, size_t(size));
    m->data_ = m->copy_.data();
  }
  return m;
}

FileMapping::~FileMapping() {
  if (map_) ::munmap(map_, size_t(size_));
}

}  // namespace mixcon
