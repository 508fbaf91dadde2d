//go:build !workqueue_pkgconfig

package workqueue

// Inside this repository: the static library `make` builds and the
// checked-in header, found relative to this folder. The libraries after
// libworkqueue.a are what the Rust standard library needs on Linux
// (`cargo rustc --print native-static-libs`).
//
// Outside the repository, build with `-tags workqueue_pkgconfig` against
// an installed libworkqueue (see link_pkgconfig.go and README.md).

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../target/release/libworkqueue.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
*/
import "C"

// linkedLibrary is set by make (-ldflags -X) to a digest of the
// libworkqueue.a it built: Go's build cache does not look at the library's
// contents, but a changed flag makes it link again.
var linkedLibrary string
