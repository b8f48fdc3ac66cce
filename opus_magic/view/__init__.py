"""Views: formatting shared by text and widgets, tables, text views and widget views that observe runs."""
