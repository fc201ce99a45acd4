// Key and self-signed certificate generation, and their storage in the PT state directory.
#include "dtls/identity.hpp"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>

#include "identity_data.hpp"

namespace hoplink::dtls {
namespace {

Failure<Error> storage_error(std::string message) {
  return fail(Error{ErrorKind::identity_storage, message});
}
Failure<Error> crypto_error(std::string_view context) {
  return fail(Error{ErrorKind::crypto, openssl_error_text(context)});
}

// Fills in der and fingerprint from certificate.
bool complete(IdentityData& data) {
  int length = i2d_X509(data.certificate.get(), nullptr);
  if (length <= 0) return false;
  data.der.resize(static_cast<std::size_t>(length));
  auto* out = reinterpret_cast<unsigned char*>(data.der.data());
  if (i2d_X509(data.certificate.get(), &out) != length) return false;
  data.fingerprint = certificate_fingerprint(data.certificate.get());
  return !data.fingerprint.empty();
}

bool is_p256(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t length = 0;
  return EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1 &&
         std::string_view(group, length) == "prime256v1";
}

// The subject is WebRTC's usual one so that the certificate (sent in clear in DTLS 1.2) does not name
// hoplink; validity is long because clients check the fingerprint only.
Result<std::shared_ptr<const IdentityData>, Error> generate_data() {
  auto data = std::make_shared<IdentityData>();
  data->key.reset(EVP_EC_gen("P-256"));
  if (!data->key) return crypto_error("generating the P-256 key");
  data->certificate.reset(X509_new());
  X509* x = data->certificate.get();
  if (x == nullptr) return crypto_error("allocating the certificate");

  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return crypto_error("random serial");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  constexpr long day = 24L * 60 * 60;
  ok = ok && X509_set_version(x, X509_VERSION_3) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), -day) &&
       X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * day);
  X509_NAME* name = X509_get_subject_name(x);
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("WebRTC"),
                                  -1, -1, 0) == 1 &&
       X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, data->key.get()) == 1 &&
       X509_sign(x, data->key.get(), EVP_sha256()) > 0;
  if (!ok || !complete(*data)) return crypto_error("building the self-signed certificate");
  return std::shared_ptr<const IdentityData>(std::move(data));
}

// Writes `text` to `path` with mode 0600 through a temporary file and a rename.
Result<void, Error> write_private_file(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return storage_error("cannot create " + temporary.string() + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;  // in case the umask was stricter than needed, or looser
  std::size_t written = 0;
  while (ok && written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved_errno = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    if (ok) saved_errno = errno;
    ::unlink(temporary.c_str());
    return storage_error("cannot write " + path.string() + ": " + std::strerror(saved_errno));
  }
  return {};
}

std::string bio_text(BIO* bio) {
  char* bytes = nullptr;
  long length = BIO_get_mem_data(bio, &bytes);
  return length > 0 ? std::string(bytes, static_cast<std::size_t>(length)) : std::string();
}

Result<void, Error> store(const IdentityData& data, const std::filesystem::path& key_path,
                          const std::filesystem::path& cert_path) {
  BioPtr key_pem(BIO_new(BIO_s_mem()));
  BioPtr cert_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || !cert_pem ||
      PEM_write_bio_PrivateKey(key_pem.get(), data.key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_pem.get(), data.certificate.get()) != 1) {
    return crypto_error("encoding the identity as PEM");
  }
  // The certificate is written last: its presence marks a complete identity.
  if (auto r = write_private_file(key_path, bio_text(key_pem.get())); !r) return fail(r.error());
  return write_private_file(cert_path, bio_text(cert_pem.get()));
}

Result<std::shared_ptr<const IdentityData>, Error> load(const std::filesystem::path& key_path,
                                                        const std::filesystem::path& cert_path) {
  auto data = std::make_shared<IdentityData>();
  BioPtr key_file(BIO_new_file(key_path.c_str(), "r"));
  if (key_file) data->key.reset(PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
  if (!data->key) return storage_error(openssl_error_text("cannot read the key " + key_path.string()));
  BioPtr cert_file(BIO_new_file(cert_path.c_str(), "r"));
  if (cert_file) data->certificate.reset(PEM_read_bio_X509(cert_file.get(), nullptr, nullptr, nullptr));
  if (!data->certificate) {
    return storage_error(openssl_error_text("cannot read the certificate " + cert_path.string()));
  }
  if (!is_p256(data->key.get())) return storage_error(key_path.string() + " is not an ECDSA P-256 key");
  if (X509_check_private_key(data->certificate.get(), data->key.get()) != 1) {
    return storage_error(openssl_error_text(cert_path.string() + " does not match " + key_path.string()));
  }
  if (!complete(*data)) return crypto_error("encoding the certificate");
  return std::shared_ptr<const IdentityData>(std::move(data));
}

}  // namespace

std::string certificate_fingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &length) != 1 || length != 32) return {};
  return to_hex(digest, length);
}

Identity::Identity(std::shared_ptr<const IdentityData> data) : data_(std::move(data)) {}

const std::string& Identity::fingerprint() const {
  return data_->fingerprint;
}

std::span<const std::byte> Identity::certificate_der() const {
  return data_->der;
}

Result<Identity, Error> Identity::generate() {
  auto data = generate_data();
  if (!data) return fail(data.error());
  return Identity(std::move(data).value());
}

Result<Identity, Error> load_or_create_identity(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    return storage_error("state directory " + directory.string() + " does not exist");
  }
  const auto key_path = directory / identity_key_file;
  const auto cert_path = directory / identity_certificate_file;
  const bool have_key = std::filesystem::exists(key_path, ec);
  const bool have_cert = std::filesystem::exists(cert_path, ec);
  if (have_key && have_cert) {
    auto data = load(key_path, cert_path);
    if (!data) return fail(data.error());
    return Identity(std::move(data).value());
  }
  if (have_cert) {
    return storage_error(cert_path.string() + " exists without " + key_path.string() +
                         "; restore the key or delete both files to create a new identity");
  }
  // A key without a certificate is what an interrupted first start leaves (the certificate is written
  // last); nothing was published from it, so it is replaced.
  auto data = generate_data();
  if (!data) return fail(data.error());
  if (auto stored = store(*data.value(), key_path, cert_path); !stored) return fail(stored.error());
  return Identity(std::move(data).value());
}

}  // namespace hoplink::dtls
