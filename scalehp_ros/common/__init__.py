"""Shared base of every layer (ROS-free): the hand joint convention, the palm frame, the package's share
folder, the settings/parameter system and stream statistics. Imports nothing else of the package."""
