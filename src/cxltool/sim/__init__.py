"""The simulated system: fixtures, trees, captures and the emulated kernel."""
