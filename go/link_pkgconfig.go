//go:build workqueue_pkgconfig

package workqueue

// Outside this repository: an installed libworkqueue found with pkg-config
// (`make install PREFIX=...` writes workqueue.pc). Set PKG_CONFIG_PATH to
// $PREFIX/lib/pkgconfig if the prefix is not a default one. With --static,
// pkg-config adds the libraries the Rust standard library needs; the
// linker still prefers libworkqueue.so when both are installed in the
// same folder (see README.md for a static-only install).

/*
#cgo pkg-config: --static workqueue
*/
import "C"
