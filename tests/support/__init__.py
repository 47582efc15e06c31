"""Test helpers shared by every test package (real servers, real tokens)."""
