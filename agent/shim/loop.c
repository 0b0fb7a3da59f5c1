/* berth-shim's poll() loop while the container runs: its output to the log and the agent, the
 * agent's frames, idle memory given back, and the end once the init has exited. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state.h"

#define IDLE_RELEASE_MS 2000

/* An idle shim gives its buffers' pages back: what a container costs is mostly this. */
static void release_idle_memory(void)
{
	if (shim.clen == 0)
		madvise(shim.cbuf, sizeof(shim.cbuf) & ~4095UL, MADV_DONTNEED);
	if (shim.ilen == 0)
		madvise(shim.ibuf, sizeof(shim.ibuf) & ~4095UL, MADV_DONTNEED);
	madvise(shim.rbuf, sizeof(shim.rbuf), MADV_DONTNEED);
	shim_log_release();
	/* and the stack below this frame, deep only during setup */
	pthread_attr_t a;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &addr, &size);
		pthread_attr_destroy(&a);
		char here;
		uintptr_t top = ((uintptr_t)&here & ~4095UL) - 2 * 4096;
		if (top > (uintptr_t)addr)
			madvise(addr, top - (uintptr_t)addr, MADV_DONTNEED);
	}
	shim.touched = false;
}

static void stream_closed(int *fd, int stream)
{
	shim_log_flush(stream);
	int closing = *fd;
	if (closing == shim.tty_fd)
		shim.tty_fd = -1;
	close(closing);
	*fd = -1;
	if (closing == shim.stdin_fd) { /* the pty master serves both */
		shim.stdin_fd = -1;
		shim_stdin_gone();
	}
}

static void read_output(int *fd, int stream)
{
	ssize_t n = read(*fd, shim.rbuf, sizeof(shim.rbuf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty whose last slave closed */
		stream_closed(fd, stream);
		return;
	}
	shim.touched = true;
	shim_log_write(stream, shim.rbuf, (size_t)n);
	shim_control_send(SHIM_MSG_OUTPUT, stream, shim.rbuf, (size_t)n);
}

void shim_loop_run(void)
{
	for (;;) {
		struct pollfd p[8];
		int n = 0, i_out = -1, i_err = -1, i_in = -1, i_cli = -1, i_lis = -1, i_sig;
		bool room = sizeof(shim.cbuf) - shim.clen >= 2 * (SHIM_READ_CHUNK + 16);
		p[n] = (struct pollfd){shim.sig_fd, POLLIN, 0}, i_sig = n++;
		if (shim.listen_fd >= 0)
			p[n] = (struct pollfd){shim.listen_fd, POLLIN, 0}, i_lis = n++;
		if (shim.client_fd >= 0) {
			short ev = (shim.stdin_len == 0 ? POLLIN : 0) | (shim.clen ? POLLOUT : 0);
			p[n] = (struct pollfd){shim.client_fd, ev, 0}, i_cli = n++;
		}
		if (shim.out_fd >= 0 && room)
			p[n] = (struct pollfd){shim.out_fd, POLLIN, 0}, i_out = n++;
		if (shim.err_fd >= 0 && room)
			p[n] = (struct pollfd){shim.err_fd, POLLIN, 0}, i_err = n++;
		if (shim.stdin_fd >= 0 && shim.stdin_len > 0)
			p[n] = (struct pollfd){shim.stdin_fd, POLLOUT, 0}, i_in = n++;
		int timeout = shim.touched ? IDLE_RELEASE_MS : -1;
		if (shim.exited && !shim.finalized)
			timeout = 100;
		else if (shim.finalized)
			timeout = 60000; /* an agent that never acknowledges */
		int r = poll(p, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r == 0 && shim.finalized) {
			shim_control_unlink_socket();
			exit(0);
		}
		if (r == 0 && !shim.exited)
			release_idle_memory();
		if (r > 0) {
			if (p[i_sig].revents)
				shim_reap();
			if (i_out >= 0 && p[i_out].revents)
				read_output(&shim.out_fd, 1);
			if (i_err >= 0 && p[i_err].revents)
				read_output(&shim.err_fd, 2);
			if (i_in >= 0 && p[i_in].revents)
				shim_stdin_ready(p[i_in].revents);
			if (i_cli >= 0 && shim.client_fd >= 0 && (p[i_cli].revents & POLLOUT))
				shim_control_flush();
			if (i_cli >= 0 && shim.client_fd >= 0 &&
			    (p[i_cli].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				shim_control_read();
			if (i_lis >= 0 && (p[i_lis].revents & (POLLERR | POLLNVAL))) {
				close(shim.listen_fd); /* broken: stop polling it */
				shim.listen_fd = -1;
			} else if (i_lis >= 0 && p[i_lis].revents) {
				shim_control_accept();
			}
		}
		if (shim.exited && !shim.finalized &&
		    ((shim.out_fd < 0 && shim.err_fd < 0) ||
		     shim_now_ns() > shim.exit_deadline_ns)) {
			if (shim.out_fd >= 0)
				stream_closed(&shim.out_fd, 1);
			if (shim.err_fd >= 0)
				stream_closed(&shim.err_fd, 2);
			shim_finalize();
		}
		if (shim.finalized && shim.client_fd < 0) {
			shim_control_unlink_socket();
			exit(0);
		}
	}
}
