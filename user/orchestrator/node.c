// SPDX-License-Identifier: GPL-2.0
/*
 * Node commands: a child process for host: local, an SSH channel otherwise.
 * The SSH session is blocking (with a timeout) for the handshake and the
 * authentication, then non-blocking: every channel call that says EAGAIN
 * waits on the socket in the direction libssh2 asks for, up to a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libssh2.h>
#include <sys/stat.h>

#include "node.h"
#include "parse.h"
#include "safefile.h"
#include "sanitize.h"

#define CONNECT_TIMEOUT_MS 5000
#define RECONNECT_EVERY_NS (200 * NSEC_PER_MSEC)
#define STDERR_KEEP 4096
#define RUN_OUTPUT_MAX (64 << 10)

struct node_conn {
	const struct exp_node *n;
	int sock;
	LIBSSH2_SESSION *ssh;
};

struct node_proc {
	struct node_conn *c;
	/* local */
	pid_t pid;
	int in, out, err;
	/* ssh */
	LIBSSH2_CHANNEL *ch;
	bool eof;
	int code;
	char errbuf[STDERR_KEEP];
	size_t errlen;
};

__attribute__((format(printf, 4, 5)))
static int because(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

static const char *ssh_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;

	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

int node_global_init(void)
{
	return libssh2_init(0) ? -EIO : 0;
}

void node_global_cleanup(void)
{
	libssh2_exit();
}

int shell_quote_append(char **cmd, const char *word)
{
	size_t n = *cmd ? strlen(*cmd) : 0;
	bool plain = *word && !word[strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "0123456789-_./:=,%+@")];
	char *q = plain ? strdup(word) : sh_quote(word), *out;

	if (!q)
		return -ENOMEM;
	out = realloc(*cmd, n + strlen(q) + 2);
	if (!out) {
		free(q);
		return -ENOMEM;
	}
	sprintf(out + n, "%s%s", n ? " " : "", q);
	free(q);
	*cmd = out;
	return 0;
}

/* ---- SSH ---- */

static int tcp_connect(const char *host, unsigned port, int timeout_ms, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	char ports[8];
	int fd = -1, r;

	snprintf(ports, sizeof(ports), "%u", port);
	r = getaddrinfo(host, ports, &hints, &res);
	if (r)
		return because(why, len, -EHOSTUNREACH, "cannot resolve %s: %s", host, gai_strerror(r));
	for (a = res; a; a = a->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS) {
			because(why, len, -errno, "connect to %s port %u: %s", host, port, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		r = poll(&p, 1, timeout_ms);
		if (r == 1 && !getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) && !soerr)
			break;
		because(why, len, -ETIMEDOUT, "connect to %s port %u: %s", host, port,
			r == 0 ? "timed out" : strerror(soerr ? soerr : errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -EHOSTUNREACH;
	/* Blocking for the handshake; the session decides later. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static char *default_known_hosts(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *p;

	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/root";
	}
	if (asprintf(&p, "%s/.ssh/known_hosts", home) < 0)
		return NULL;
	return p;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = t[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = t[in[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = t[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';	/* OpenSSH prints SHA256 fingerprints without padding */
}

/* libssh2 compares a host's entries of the offered key type only: a host
 * known by its ed25519 key that now offers RSA is "not found". Asking for
 * every other type with the offered key finds any entry of the host (a
 * different key is a mismatch), so a new key is added only for a host
 * known_hosts does not name at all. */
static bool host_known_by_other_type(LIBSSH2_KNOWNHOSTS *kh, const struct exp_node *n,
				     const char *key, size_t keylen, int mask)
{
	static const int types[] = {
		LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_KNOWNHOST_KEY_SSHDSS,
		LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
		LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ED25519,
	};
	struct libssh2_knownhost *found;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i] != mask &&
		    libssh2_knownhost_checkp(kh, n->host, n->port, key, keylen,
					     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
					     types[i], &found) != LIBSSH2_KNOWNHOST_CHECK_NOTFOUND)
			return true;
	return false;
}

/* known_hosts with the new entry, written the way root writes files where
 * others may have been first (safefile.h): never through a symlink. */
static int known_hosts_save(LIBSSH2_KNOWNHOSTS *kh, const char *path, char *why, size_t len)
{
	struct libssh2_knownhost *h, *prev = NULL;
	size_t cap = 4096, used = 0, got;
	char *text = malloc(cap);
	struct stat st;
	int err = 0;

	if (!text)
		return -ENOMEM;
	text[0] = '\0';
	if (!lstat(path, &st) && !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a regular file (a symlink?); not rewritten: add the key "
			 "to the file it names yourself", path);
		err = -EPERM;
		goto out;
	}
	while (!err && !libssh2_knownhost_get(kh, &h, prev)) {
		int r;

		while ((r = libssh2_knownhost_writeline(kh, h, text + used, cap - used, &got,
							LIBSSH2_KNOWNHOST_FILE_OPENSSH)) ==
		       LIBSSH2_ERROR_BUFFER_TOO_SMALL) {
			char *t = realloc(text, cap * 2);

			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			text = t;
			cap *= 2;
		}
		if (r) {
			err = -EIO;
			goto out;
		}
		used += got;
		text[used] = '\0';
		prev = h;
	}
	err = safe_file_write(path, text, 0600, why, len);
out:
	free(text);
	return err;
}

static int check_host_key(struct node_conn *c, bool accept_new, char *why, size_t len)
{
	const struct exp_node *n = c->n;
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	struct libssh2_knownhost *found = NULL;
	const unsigned char *hash;
	char *path = n->known_hosts ? strdup(n->known_hosts) : default_known_hosts();
	char fp[64] = "?";
	const char *key;
	size_t keylen;
	int type, mask, r, err = 0;

	if (!path)
		return -ENOMEM;
	key = libssh2_session_hostkey(c->ssh, &keylen, &type);
	if (!key) {
		err = because(why, len, -EPROTO, "%s: the server sent no host key", n->name);
		goto out;
	}
	hash = (const unsigned char *)libssh2_hostkey_hash(c->ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (hash)
		b64(hash, 32, fp);
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: mask = LIBSSH2_KNOWNHOST_KEY_SSHRSA; break;
	case LIBSSH2_HOSTKEY_TYPE_DSS: mask = LIBSSH2_KNOWNHOST_KEY_SSHDSS; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_256; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_384; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_521; break;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: mask = LIBSSH2_KNOWNHOST_KEY_ED25519; break;
	default: mask = LIBSSH2_KNOWNHOST_KEY_UNKNOWN; break;
	}
	kh = libssh2_knownhost_init(c->ssh);
	if (!kh) {
		err = -ENOMEM;
		goto out;
	}
	r = libssh2_knownhost_readfile(kh, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	if (r < 0 && access(path, F_OK) == 0) {
		err = because(why, len, -EINVAL, "%s: cannot read known_hosts %s: %s", n->name, path,
			      ssh_error(c->ssh));
		goto out;
	}
	r = libssh2_knownhost_checkp(kh, n->host, n->port, key, keylen,
				     LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
				     &found);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		err = because(why, len, -EPERM,
			      "%s: the host key of %s port %u (SHA256:%s) is NOT the one in %s; "
			      "someone may be intercepting the connection, or the host was reinstalled. "
			      "Refusing. Check the key and update %s yourself",
			      n->name, n->host, n->port, fp, path, path);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND: {
		char hostport[300];

		if (!accept_new) {
			err = because(why, len, -EPERM,
				      "%s: unknown host key for %s port %u (SHA256:%s), not in %s; "
				      "add it there after checking it, or pass --accept-new-host-keys",
				      n->name, n->host, n->port, fp, path);
			break;
		}
		if (host_known_by_other_type(kh, n, key, keylen, mask)) {
			err = because(why, len, -EPERM,
				      "%s: %s port %u offers a %s host key (SHA256:%s), and %s holds a key "
				      "of another type for it; someone may be intercepting the connection. "
				      "Refusing, --accept-new-host-keys or not: check the key and update %s "
				      "yourself", n->name, n->host, n->port, libssh2_session_methods(c->ssh,
				      LIBSSH2_METHOD_HOSTKEY) ?: "new", fp, path, path);
			break;
		}
		if (n->port == 22)
			snprintf(hostport, sizeof(hostport), "%s", n->host);
		else
			snprintf(hostport, sizeof(hostport), "[%s]:%u", n->host, n->port);
		if (libssh2_knownhost_addc(kh, hostport, NULL, key, keylen, NULL, 0,
					   LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
					   NULL)) {
			err = because(why, len, -EIO, "%s: cannot add the host key to %s: %s",
				      n->name, path, ssh_error(c->ssh));
			break;
		}
		err = known_hosts_save(kh, path, why, len);
		if (err == -EPERM) {
			char w[512];

			snprintf(w, sizeof(w), "%s", why);
			because(why, len, err, "%s: the new host key was not saved: %s", n->name, w);
		} else if (err) {
			because(why, len, err, "%s: cannot write %s: %s", n->name, path, strerror(-err));
		}
		break;
	}
	default:
		err = because(why, len, -EPERM, "%s: cannot check the host key against %s: %s",
			      n->name, path, ssh_error(c->ssh));
	}
out:
	if (kh)
		libssh2_knownhost_free(kh);
	free(path);
	return err;
}

static int authenticate(struct node_conn *c, char *why, size_t len)
{
	const struct exp_node *n = c->n;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int err = -EACCES;

	if (n->key) {
		int e;

		if (!libssh2_userauth_publickey_fromfile(c->ssh, n->user, NULL, n->key, NULL))
			return 0;
		/* A session cut during the login (the node going down) is not a
		 * refused key: the caller may try again. */
		e = libssh2_session_last_errno(c->ssh);
		if (e != LIBSSH2_ERROR_AUTHENTICATION_FAILED && e != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
		    e != LIBSSH2_ERROR_FILE)
			return because(why, len, -EPROTO, "%s: the session to %s@%s ended during the "
				       "login: %s", n->name, n->user, n->host, ssh_error(c->ssh));
		return because(why, len, -EACCES, "%s: key %s not accepted for %s@%s: %s",
			       n->name, n->key, n->user, n->host, ssh_error(c->ssh));
	}
	agent = libssh2_agent_init(c->ssh);
	if (!agent)
		return -ENOMEM;
	if (libssh2_agent_connect(agent)) {
		because(why, len, -EACCES, "%s: no SSH agent (SSH_AUTH_SOCK): %s", n->name,
			ssh_error(c->ssh));
		goto out;
	}
	if (libssh2_agent_list_identities(agent)) {
		because(why, len, -EACCES, "%s: the SSH agent lists no keys", n->name);
		goto out_disc;
	}
	because(why, len, -EACCES, "%s: no key of the agent is accepted for %s@%s", n->name,
		n->user, n->host);
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		if (!libssh2_agent_userauth(agent, n->user, id)) {
			err = 0;
			break;
		}
		prev = id;
	}
out_disc:
	libssh2_agent_disconnect(agent);
out:
	libssh2_agent_free(agent);
	return err;
}

int node_open(const struct exp_node *n, bool accept_new, struct node_conn **ret,
	      char *why, size_t len)
{
	struct node_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->n = n;
	c->sock = -1;
	if (n->local) {
		*ret = c;
		return 0;
	}
	c->sock = tcp_connect(n->host, n->port, CONNECT_TIMEOUT_MS, why, len);
	if (c->sock < 0) {
		err = c->sock;
		goto fail;
	}
	c->ssh = libssh2_session_init();
	if (!c->ssh) {
		err = -ENOMEM;
		goto fail;
	}
	libssh2_session_set_timeout(c->ssh, CONNECT_TIMEOUT_MS);
	if (libssh2_session_handshake(c->ssh, c->sock)) {
		err = because(why, len, -EPROTO, "%s: SSH handshake with %s port %u failed: %s",
			      n->name, n->host, n->port, ssh_error(c->ssh));
		goto fail;
	}
	err = check_host_key(c, accept_new, why, len);
	if (err)
		goto fail;
	err = authenticate(c, why, len);
	if (err)
		goto fail;
	libssh2_session_set_blocking(c->ssh, 0);
	*ret = c;
	return 0;
fail:
	node_close(c);
	return err;
}

int node_open_retry(const struct exp_node *n, bool accept_new, uint64_t deadline_ns,
		    const atomic_int *stop, struct node_conn **ret, char *why, size_t len)
{
	for (;;) {
		int err = node_open(n, accept_new, ret, why, len);
		struct timespec ts = { 0, RECONNECT_EVERY_NS };

		/* Unreachable, refused, or cut off in the handshake: down for now. */
		if (err != -EHOSTUNREACH && err != -ETIMEDOUT && err != -EPROTO)
			return err;
		if (mono_ns() + RECONNECT_EVERY_NS >= deadline_ns || (stop && *stop))
			return err;
		nanosleep(&ts, NULL);
	}
}

void node_close(struct node_conn *c)
{
	if (!c)
		return;
	if (c->ssh) {
		libssh2_session_set_blocking(c->ssh, 1);
		libssh2_session_set_timeout(c->ssh, 1000);
		libssh2_session_disconnect(c->ssh, "tug: done");
		libssh2_session_free(c->ssh);
	}
	if (c->sock >= 0)
		close(c->sock);
	free(c);
}

/* Wait until the socket is ready in the direction libssh2 wants, or ms.
 * libssh2 may hold whole packets in its own buffer while the socket has
 * nothing more to read, so the wait is short and the caller retries. */
static void ssh_wait(struct node_conn *c, int ms)
{
	int dir = libssh2_session_block_directions(c->ssh);
	struct pollfd p = { .fd = c->sock };

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (!p.events)
		p.events = POLLIN;
	poll(&p, 1, ms < 10 ? ms : 10);
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = mono_ns();

	return now >= deadline ? 0 : (int)((deadline - now) / NSEC_PER_MSEC) + 1;
}

/* ---- processes ---- */

int node_spawn(struct node_conn *c, const char *cmd, struct node_proc **ret, char *why, size_t len)
{
	struct node_proc *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->c = c;
	p->code = -1;
	p->in = p->out = p->err = -1;
	if (!c->ssh) {
		int in[2], out[2], er[2];

		if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
			free(p);
			return because(why, len, -errno, "pipe: %s", strerror(errno));
		}
		p->pid = fork();
		if (p->pid < 0) {
			err = -errno;
			free(p);
			return because(why, len, err, "fork: %s", strerror(-err));
		}
		if (p->pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(er[1], 2);
			signal(SIGPIPE, SIG_DFL);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		close(er[1]);
		p->in = in[1];
		p->out = out[0];
		p->err = er[0];
		fcntl(p->out, F_SETFL, O_NONBLOCK);
		fcntl(p->err, F_SETFL, O_NONBLOCK);
		*ret = p;
		return 0;
	}
	{
		uint64_t deadline = mono_ns() + CONNECT_TIMEOUT_MS * NSEC_PER_MSEC;
		int r;

		while (!(p->ch = libssh2_channel_open_session(c->ssh)) &&
		       libssh2_session_last_errno(c->ssh) == LIBSSH2_ERROR_EAGAIN && remaining_ms(deadline))
			ssh_wait(c, remaining_ms(deadline));
		if (!p->ch) {
			free(p);
			return because(why, len, -EIO, "%s: cannot open a channel: %s", c->n->name,
				       ssh_error(c->ssh));
		}
		while ((r = libssh2_channel_exec(p->ch, cmd)) == LIBSSH2_ERROR_EAGAIN &&
		       remaining_ms(deadline))
			ssh_wait(c, remaining_ms(deadline));
		if (r) {
			because(why, len, -EIO, "%s: cannot run the command: %s", c->n->name,
				ssh_error(c->ssh));
			node_proc_free(p);
			return -EIO;
		}
	}
	*ret = p;
	return 0;
}

static void keep_stderr(struct node_proc *p, const char *buf, size_t n)
{
	if (n >= STDERR_KEEP)
		return;
	if (p->errlen + n >= STDERR_KEEP) {
		size_t drop = p->errlen + n - STDERR_KEEP + 1;

		memmove(p->errbuf, p->errbuf + drop, p->errlen - drop);
		p->errlen -= drop;
	}
	memcpy(p->errbuf + p->errlen, buf, n);
	p->errlen += n;
	p->errbuf[p->errlen] = '\0';
}

ssize_t node_read(struct node_proc *p, char *buf, size_t len, int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	char eb[1024];

	if (p->eof)
		return 0;
	if (!p->ch) {
		for (;;) {
			struct pollfd f[2] = { { .fd = p->out, .events = POLLIN },
					       { .fd = p->err, .events = POLLIN } };
			ssize_t n;

			if (poll(f, p->err >= 0 ? 2 : 1, remaining_ms(deadline)) < 0 && errno != EINTR)
				return -errno;
			if (p->err >= 0 && (f[1].revents & (POLLIN | POLLHUP))) {
				n = read(p->err, eb, sizeof(eb));
				if (n > 0)
					keep_stderr(p, eb, n);
				else if (n == 0 || errno != EAGAIN) {
					close(p->err);
					p->err = -1;
				}
			}
			if (f[0].revents & (POLLIN | POLLHUP)) {
				n = read(p->out, buf, len);
				if (n > 0)
					return n;
				if (n == 0) {
					p->eof = true;
					return 0;
				}
				if (errno != EAGAIN && errno != EINTR)
					return -errno;
			}
			if (!remaining_ms(deadline))
				return -EAGAIN;
		}
	}
	for (;;) {
		ssize_t n, e;

		while ((e = libssh2_channel_read_stderr(p->ch, eb, sizeof(eb))) > 0)
			keep_stderr(p, eb, e);
		n = libssh2_channel_read(p->ch, buf, len);
		if (n > 0)
			return n;
		if (n == 0 || (n < 0 && n != LIBSSH2_ERROR_EAGAIN)) {
			if (n == 0 && !libssh2_channel_eof(p->ch))
				goto wait;
			p->eof = true;
			return n == 0 ? 0 : -EIO;
		}
wait:
		if (!remaining_ms(deadline))
			return -EAGAIN;
		ssh_wait(p->c, remaining_ms(deadline));
	}
}

int node_write(struct node_proc *p, const char *buf, size_t len)
{
	uint64_t deadline = mono_ns() + 1000 * NSEC_PER_MSEC;

	while (len) {
		ssize_t n;

		if (!p->ch) {
			if (p->in < 0)
				return -EPIPE;
			n = write(p->in, buf, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
		} else {
			n = libssh2_channel_write(p->ch, buf, len);
			if (n == LIBSSH2_ERROR_EAGAIN) {
				if (!remaining_ms(deadline))
					return -ETIMEDOUT;
				ssh_wait(p->c, remaining_ms(deadline));
				continue;
			}
			if (n < 0)
				return -EIO;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

void node_close_stdin(struct node_proc *p)
{
	if (!p->ch) {
		if (p->in >= 0)
			close(p->in);
		p->in = -1;
		return;
	}
	{
		uint64_t deadline = mono_ns() + 1000 * NSEC_PER_MSEC;

		while (libssh2_channel_send_eof(p->ch) == LIBSSH2_ERROR_EAGAIN && remaining_ms(deadline))
			ssh_wait(p->c, remaining_ms(deadline));
	}
}

int node_wait(struct node_proc *p, int timeout_ms, int *ret_code)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	char buf[4096];
	int err = 0;

	/* Drain stdout until EOF so the command is never blocked on a pipe. */
	while (!p->eof && remaining_ms(deadline)) {
		ssize_t n = node_read(p, buf, sizeof(buf), remaining_ms(deadline));

		if (n < 0 && n != -EAGAIN)
			break;
	}
	if (!p->ch) {
		int st;

		for (;;) {
			pid_t r = waitpid(p->pid, &st, WNOHANG);

			if (r == p->pid) {
				p->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				p->pid = 0;
				break;
			}
			if (!remaining_ms(deadline)) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &st, 0);
				p->pid = 0;
				err = -ETIMEDOUT;
				break;
			}
			usleep(5000);
		}
	} else {
		int r;

		while ((r = libssh2_channel_close(p->ch)) == LIBSSH2_ERROR_EAGAIN && remaining_ms(deadline))
			ssh_wait(p->c, remaining_ms(deadline));
		while ((r = libssh2_channel_wait_closed(p->ch)) == LIBSSH2_ERROR_EAGAIN &&
		       remaining_ms(deadline))
			ssh_wait(p->c, remaining_ms(deadline));
		if (r)
			err = -ETIMEDOUT;
		else
			p->code = libssh2_channel_get_exit_status(p->ch);
	}
	if (ret_code)
		*ret_code = p->code;
	return err;
}

const char *node_stderr(struct node_proc *p)
{
	char eb[1024];

	if (!p->ch && p->err >= 0) {
		ssize_t n;

		while ((n = read(p->err, eb, sizeof(eb))) > 0)
			keep_stderr(p, eb, n);
	}
	return p->errbuf;
}

void node_proc_free(struct node_proc *p)
{
	if (!p)
		return;
	if (p->ch) {
		libssh2_channel_free(p->ch);
	} else {
		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		if (p->in >= 0)
			close(p->in);
		if (p->out >= 0)
			close(p->out);
		if (p->err >= 0)
			close(p->err);
	}
	free(p);
}

int node_run(struct node_conn *c, const char *cmd, uint64_t timeout_ns, int *ret_code,
	     char **ret_out, char *why, size_t len)
{
	uint64_t deadline = mono_ns() + timeout_ns;
	struct node_proc *p;
	size_t n = 0;
	char *out = malloc(RUN_OUTPUT_MAX + 1);
	int err, code = -1;

	if (!out)
		return -ENOMEM;
	err = node_spawn(c, cmd, &p, why, len);
	if (err) {
		free(out);
		return err;
	}
	node_close_stdin(p);
	while (remaining_ms(deadline)) {
		ssize_t r = node_read(p, out + n, RUN_OUTPUT_MAX - n, remaining_ms(deadline));

		if (r > 0) {
			n += r;
			if (n == RUN_OUTPUT_MAX)
				break;
		} else if (r == 0 || r != -EAGAIN) {
			break;
		}
	}
	out[n] = '\0';
	if (!p->eof && !remaining_ms(deadline)) {
		err = because(why, len, -ETIMEDOUT, "timed out after %.1fs", timeout_ns / 1e9);
		node_proc_free(p);
		free(out);
		return err;
	}
	err = node_wait(p, remaining_ms(deadline) + 100, &code);
	if (err)
		because(why, len, err, "timed out after %.1fs", timeout_ns / 1e9);
	else if (code != 0 && *node_stderr(p))
		because(why, len, 0, "%s", node_stderr(p));
	node_proc_free(p);
	if (err) {
		free(out);
		return err;
	}
	*ret_code = code;
	if (ret_out)
		*ret_out = out;
	else
		free(out);
	return 0;
}
