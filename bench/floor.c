/* floor.c — the memory floor of overseer's dependencies: a program linked
 * with the same Debian libraries that only initialises them (libcurl's
 * global init, one libpq connection, one sqlite database, an ncurses
 * screen) and then idles. bench/run measures its RSS beside overseer's and
 * htop's, so the report separates what the libraries cost from what
 * overseer itself holds.
 *   floor SQLITE_PATH      (PG* names the database; runs until killed) */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <locale.h>
#include <ncurses.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: floor SQLITE_PATH\n");
		return 2;
	}
	setlocale(LC_ALL, "");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	PGconn *c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "floor: %s", PQerrorMessage(c));
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		fprintf(stderr, "floor: sqlite: %s\n", sqlite3_errmsg(db));
	initscr();
	mvprintw(0, 0, "floor: libraries initialised, idle");
	refresh();
	uv_loop_t *loop = uv_default_loop();
	pause(); /* bench/run kills us */
	endwin();
	uv_loop_close(loop);
	sqlite3_close(db);
	PQfinish(c);
	curl_global_cleanup();
	return 0;
}
