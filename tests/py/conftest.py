# The Tapwire pytest plugin: the seeded `sim` fixture, --tapwire-seed(s), pcaps of failures.
# pytester runs inner pytest sessions for the plugin's own tests (test_plugin.py).
pytest_plugins = ["tapwire.pytest_plugin", "pytester"]
