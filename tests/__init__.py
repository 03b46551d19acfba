# Nova's functional framework must monkey-patch before any other Nova
# module is imported; doing it here covers every test module.
import nova.tests.functional  # noqa: F401
