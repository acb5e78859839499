"""The web app in a real browser: headless Chromium (Debian's package) driven by Playwright."""
