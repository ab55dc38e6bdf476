# Tresor: a zero-access mail server.
#
#   make            build every program, each in its own folder
#   make test       build and run every test; ends with "N passed, N failed"
#   make sanitize   the same tests on a build with ASan and UBSan
#   make run        ctld in the foreground with the built-in configuration
#   make install    PREFIX=/usr/local DESTDIR=
#
# Debian 12 packages needed: see scripts/deps.sh, which installs them.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/tresor
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
PKGS	 = libtls libevent libsodium libbsd-overlay libseccomp sqlite3 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) libcrypto 2>/dev/null)

OPT	?= -O2
CFLAGS	?=
ifeq ($(SANITIZE),1)
OPT	 = -O1
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer -DTRESOR_SANITIZE
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) \
	   -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	   $(PKG_CFLAGS) $(SANFLAGS) \
	   -DLIBEXECDIR='"$(LIBEXECDIR)"' $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)
LIBS	 = $(PKG_LIBS) -lm

# common/ in layers, each a library, each visible only to what may use it:
#   base   the runtime of every process (imsg, channels, child start-up,
#          log, sandbox, the configuration's types)
#   wire   what travels between processes (messages, the mailbox
#          protocol, bundles, result streams, search programs); base and
#          wire include each other's headers and always go together
#   front  smtpd and imapd only (listeners, sessions, TLS I/O, SASL, MIME)
#   parse  ctld only (the tresor.conf parser)
BASE_SRCS  = $(wildcard common/base/*.c)
WIRE_SRCS  = $(wildcard common/wire/*.c)
FRONT_SRCS = $(wildcard common/front/*.c)
PARSE_SRCS = $(wildcard common/parse/*.c)
SMTPD_SRCS  = $(filter-out smtpd/smtpd.c, $(wildcard smtpd/*.c))
IMAPD_SRCS  = $(filter-out imapd/imapd.c, $(wildcard imapd/*.c))
VAULTD_SRCS = $(filter-out vaultd/vaultd.c, $(wildcard vaultd/*.c))
CTLD_SRCS   = $(filter-out ctld/ctld.c ctld/ctl.c ctld/ctl_%.c, \
		$(wildcard ctld/*.c))
CTL_SRCS    = ctld/ctl.c $(wildcard ctld/ctl_*.c)

LIBBASE   = common/base/libbase.a
LIBWIRE   = common/wire/libwire.a
LIBFRONT  = common/front/libfront.a
LIBPARSE  = common/parse/libparse.a
LIBSMTPD  = smtpd/libsmtpd.a
LIBIMAPD  = imapd/libimapd.a
LIBVAULTD = vaultd/libvaultd.a
LIBCTLD   = ctld/libctld.a

PROGS	= smtpd/smtpd imapd/imapd vaultd/vaultd ctld/ctld ctld/ctl

UNIT_SRCS  = $(wildcard regress/unit/*_test.c)
UNIT_TESTS = $(UNIT_SRCS:.c=)
UNIT_LIBS  = $(LIBSMTPD) $(LIBIMAPD) $(LIBVAULTD) $(LIBCTLD) $(LIBPARSE) \
	     $(LIBFRONT) $(LIBWIRE) $(LIBBASE)

MANPAGES = ctld/ctld.8 ctld/ctl.8 smtpd/smtpd.8 imapd/imapd.8 \
	   vaultd/vaultd.8 etc/tresor.conf.5

.PHONY: all test unit sanitize run install clean deps lint fuzz fuzz-run
all: $(PROGS)

# Rebuild everything when the flags change (a sanitizer build, say).
.build-flags: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

%.o: %.c .build-flags
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Which headers each part may include: a vaultd file cannot reach
# front-only code, a front cannot reach the parser.  vaultd's tests use
# its headers; nothing else may.
INC_BASE  = -Icommon/base -Icommon/wire
INC_FRONT = $(INC_BASE) -Icommon/front
INC_PARSE = $(INC_BASE) -Icommon/parse
common/base/%.o common/wire/%.o: ALL_CFLAGS += $(INC_BASE)
common/front/%.o smtpd/%.o imapd/%.o: ALL_CFLAGS += $(INC_FRONT)
common/parse/%.o ctld/%.o: ALL_CFLAGS += $(INC_PARSE)
# vaultd alone has threads (vault_kdf.c: Argon2id off the event loop);
# its tests link its library, so they get -pthread too.
vaultd/%.o: ALL_CFLAGS += $(INC_BASE) -Ivaultd -pthread
regress/unit/%.o: ALL_CFLAGS += $(INC_FRONT) -Icommon/parse -Ivaultd

define staticlib
$(1): $(2:.c=.o)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(eval $(call staticlib,$(LIBBASE),$(BASE_SRCS)))
$(eval $(call staticlib,$(LIBWIRE),$(WIRE_SRCS)))
$(eval $(call staticlib,$(LIBFRONT),$(FRONT_SRCS)))
$(eval $(call staticlib,$(LIBPARSE),$(PARSE_SRCS)))
$(eval $(call staticlib,$(LIBSMTPD),$(SMTPD_SRCS)))
$(eval $(call staticlib,$(LIBIMAPD),$(IMAPD_SRCS)))
$(eval $(call staticlib,$(LIBVAULTD),$(VAULTD_SRCS)))
$(eval $(call staticlib,$(LIBCTLD),$(CTLD_SRCS)))

# base and wire call each other: the linker sees them as one group.
LINK_BASE  = -Wl,--start-group $(LIBWIRE) $(LIBBASE) -Wl,--end-group

smtpd/smtpd: smtpd/smtpd.o $(LIBSMTPD) $(LIBFRONT) $(LIBWIRE) $(LIBBASE)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBSMTPD) $(LIBFRONT) $(LINK_BASE) $(LIBS)
imapd/imapd: imapd/imapd.o $(LIBIMAPD) $(LIBFRONT) $(LIBWIRE) $(LIBBASE)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBIMAPD) $(LIBFRONT) $(LINK_BASE) $(LIBS)
vaultd/vaultd: vaultd/vaultd.o $(LIBVAULTD) $(LIBWIRE) $(LIBBASE)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $< $(LIBVAULTD) $(LINK_BASE) $(LIBS)
ctld/ctld: ctld/ctld.o $(LIBCTLD) $(LIBPARSE) $(LIBWIRE) $(LIBBASE)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBCTLD) $(LIBPARSE) $(LINK_BASE) $(LIBS)
ctld/ctl: $(CTL_SRCS:.c=.o) $(LIBWIRE) $(LIBBASE)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CTL_SRCS:.c=.o) $(LINK_BASE) $(LIBS)

# What the tests of one family share is in regress/unit/F_fixture.c,
# linked into each regress/unit/F_*_test (mbox_fixture.o into
# mbox_folder_test, say).
UNIT_FIXTURES = $(wildcard regress/unit/*_fixture.c)
$(foreach f,$(UNIT_FIXTURES:_fixture.c=),\
    $(eval $(filter $(f)_%_test,$(UNIT_TESTS)): $(f)_fixture.o))

regress/unit/%_test: regress/unit/%_test.o $(UNIT_LIBS)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $< $(filter %_fixture.o,$^) \
	    $(filter-out $(LIBWIRE) $(LIBBASE), $(UNIT_LIBS)) $(LINK_BASE) \
	    $(LIBS)

unit: $(UNIT_TESTS)

deps:
	@sh scripts/deps.sh --check

test: deps all unit
	python3 regress/run

sanitize: deps
	$(MAKE) SANITIZE=1 all unit
	TRESOR_SANITIZE=1 python3 regress/run
	$(MAKE) clean

run: deps all
	./ctld/ctld -d

lint:
	mandoc -Tlint -Wwarning $(MANPAGES)

# libFuzzer targets (clang), and a short run of each over its corpus.
FUZZ_TIME ?= 30
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 \
	   -fsanitize=fuzzer,address,undefined $(INC_FRONT) $(PKG_CFLAGS)
MIME_SRCS = $(wildcard common/front/mime*.c) common/front/mbuf.c \
	   common/wire/bundle.c common/wire/mbox_append.c \
	   common/wire/section.c common/base/peerfd.c common/base/util.c \
	   common/base/log.c

regress/fuzz/mime_fuzz: regress/fuzz/mime_fuzz.c $(MIME_SRCS)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LIBS)

regress/fuzz/smtp_fuzz: regress/fuzz/smtp_fuzz.c smtpd/smtp_parse.c \
	    common/base/log.c
	clang $(FUZZ_CFLAGS) -Ismtpd -o $@ $^ $(LIBS)

regress/fuzz/imap_fuzz: regress/fuzz/imap_fuzz.c imapd/imap_parse.c \
	    imapd/imap_sort_parse.c common/wire/sort.c
	clang $(FUZZ_CFLAGS) -Iimapd -o $@ $^ $(LIBS)

fuzz: regress/fuzz/mime_fuzz regress/fuzz/smtp_fuzz regress/fuzz/imap_fuzz

fuzz-run: fuzz
	rm -rf /tmp/tresor-fuzz && mkdir -p /tmp/tresor-fuzz/mime
	cp regress/unit/mime/*.eml /tmp/tresor-fuzz/mime/
	./regress/fuzz/mime_fuzz -max_total_time=$(FUZZ_TIME) \
	    -max_len=65536 -print_final_stats=1 /tmp/tresor-fuzz/mime
	mkdir -p /tmp/tresor-fuzz/smtp
	printf '<alice@example.org>' > /tmp/tresor-fuzz/smtp/path
	printf 'mx.example.org' > /tmp/tresor-fuzz/smtp/helo
	./regress/fuzz/smtp_fuzz -max_total_time=$(FUZZ_TIME) \
	    -print_final_stats=1 /tmp/tresor-fuzz/smtp
	mkdir -p /tmp/tresor-fuzz/imap
	printf '1:3,7,9:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.10>)' \
	    > /tmp/tresor-fuzz/imap/fetch
	printf 'INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" {5}\r\nhello' \
	    > /tmp/tresor-fuzz/imap/append
	printf '~peter/mail/&U,BTFw-/&ZeVnLIqe-' > /tmp/tresor-fuzz/imap/utf7
	printf 'RETURN (MIN COUNT) (REVERSE DATE SUBJECT) UTF-8 ALL' \
	    > /tmp/tresor-fuzz/imap/sort
	./regress/fuzz/imap_fuzz -max_total_time=$(FUZZ_TIME) \
	    -print_final_stats=1 /tmp/tresor-fuzz/imap
	rm -rf /tmp/tresor-fuzz

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 ctld/ctld $(DESTDIR)$(SBINDIR)/ctld
	install -m 0755 ctld/ctl $(DESTDIR)$(BINDIR)/ctl
	install -m 0755 smtpd/smtpd imapd/imapd vaultd/vaultd \
	    $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 etc/tresor.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 ctld/ctld.8 ctld/ctl.8 smtpd/smtpd.8 imapd/imapd.8 \
	    vaultd/vaultd.8 $(DESTDIR)$(MANDIR)/man8/

SRCDIRS	= common/base common/wire common/front common/parse ctld smtpd imapd vaultd regress/unit

clean:
	rm -f $(PROGS) $(UNIT_TESTS) .build-flags regress/fuzz/*_fuzz
	for d in $(SRCDIRS); do rm -f $$d/*.o $$d/*.d $$d/*.a; done

-include $(foreach d,$(SRCDIRS),$(wildcard $(d)/*.d))
