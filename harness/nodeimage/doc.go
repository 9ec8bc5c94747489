// Package nodeimage owns replab's node image: the recipe (Debian suite,
// packages, trim list), its hash and tag, and the offline build. It is part
// of harness, the only layer that talks to Docker; it must not import
// Ginkgo, Gomega, chaos, suites or topologies.
//
// No registry is reachable where replab runs, so the image is built on the
// machine from Debian packages, fetched from the mirror the machine's apt
// configuration names ($REPLAB_DEBIAN_MIRROR overrides):
//
//	Ensure ──ImageInspect(replab/node:<hash12>)──▶ found: done (one API call)
//	   │ not found
//	   ▼
//	flock <cache>/replab-node-<hash12>.lock ──▶ inspect again (another process may have built it)
//	   ▼
//	debootstrap --variant=minbase --include=<packages> bookworm <cache>/replab-node-<hash12>-*/root <mirror>
//	   ▼
//	update-alternatives (iptables -> nft) ─▶ patches (Spec.Patches: Patroni 3.0.2's leader key) ─▶ trim (docs, locales, apt caches, LLVM JIT, Debian's cluster)
//	   ▼                                      ─▶ /run/postgresql owned by postgres
//	initdb as postgres (chroot) ─▶ /usr/share/replab/pgdata-15.tar.gz, the template labs bootstrap from
//	   ▼
//	tar stream (archive/tar) ──ImageImport──▶ replab/node:<hash12> (+ :latest), labels replab.image, replab.recipe, replab.pgtemplate
//	   ▼
//	remove the tree (after detaching any mount debootstrap left in it)
//
// The tag is replab/node:<first 12 hex digits of sha256(Spec.Canonical())>:
// changing the recipe (or RecipeVersion) changes the tag; nothing else does.
//
// A user may bring their own image instead (EnsureRequest.Image, the
// topology's engine.image); Ensure then only checks it exists locally. What
// the harness relies on from any node image is written down in
// docs/image-contract.md.
package nodeimage
