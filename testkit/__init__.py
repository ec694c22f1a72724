"""What the tests (tests/), the browser tests (e2e/) and the benchmarks (bench/) share: the demo's
people and how to sign in, valid answers for the wizard and how to drive it, reading emailed
links from the test SMTP server, the fake Stripe, races that prove they overlapped, and the
url_map walks. Not part of the product (it is not installed with webapp)."""
